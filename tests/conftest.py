"""Suite-wide test configuration.

Qt runs offscreen in tests: the variable must be set before anything imports Qt, and this file is
loaded before pytest-qt sets its Qt binding up.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
