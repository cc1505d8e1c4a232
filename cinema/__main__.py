"""``python -m cinema`` runs the ``cinema`` command."""

from cinema.cli import main

if __name__ == "__main__":
    main()
