/* Column checks of a keyframe's process tables, for recorder.session.worldcheck.
 *
 * A keyframe comes from the file, so its worldcheck checks every int column of the process
 * table (pids in range, counts that fit an int64) before the model reads it. In Python that is
 * a set of the column's types and a min and a max per column, and a flattening of the row
 * columns (links, monitors, mailbox ids): ~3.5 ms of a 6,000-process keyframe's ~10 ms, paid
 * on every seek into a keyframe interval not visited yet. Here each check is one pass in C.
 * worldcheck's pure-Python checks are their twins (the same answers; tests/recorder/session/
 * test_worldcheck_native.py compares them on generated columns).
 *
 * A value passes only when it is an exact int (not a bool, not a subclass), as the Python
 * checks' `type(v) is int` asks.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>

#define NO_PID 0xFFFFFFFFLL

/* Whether `v` is an exact int in [lo, hi]. */
static int int_in(PyObject *v, long long lo, long long hi) {
    if (!PyLong_CheckExact(v)) {
        return 0;
    }
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow) {
        return 0;
    }
    if (x == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return lo <= x && x <= hi;
}

static int is_seq(PyObject *v) { return PyList_CheckExact(v) || PyTuple_CheckExact(v); }

static int parse_range(PyObject *const *args, long long *lo, long long *hi) {
    *lo = PyLong_AsLongLong(args[0]);
    if (*lo == -1 && PyErr_Occurred()) {
        return -1;
    }
    *hi = PyLong_AsLongLong(args[1]);
    if (*hi == -1 && PyErr_Occurred()) {
        return -1;
    }
    return 0;
}

/* ints_in(col, lo, hi, optional, /) -> bool: every item of the list or tuple `col` an exact
 * int in [lo, hi] (inclusive bounds, int64), None and NO_PID skipped when `optional`. */
PyObject *cinema_ints_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "ints_in(col, lo, hi, optional)");
        return NULL;
    }
    PyObject *col = args[0];
    if (!is_seq(col)) {
        Py_RETURN_FALSE;
    }
    long long lo, hi;
    if (parse_range(args + 1, &lo, &hi) < 0) {
        return NULL;
    }
    int optional = PyObject_IsTrue(args[3]);
    if (optional < 0) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(col);
    PyObject **items = PySequence_Fast_ITEMS(col);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = items[i];
        if (optional && (v == Py_None || int_in(v, NO_PID, NO_PID))) {
            continue;
        }
        if (!int_in(v, lo, hi)) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

/* What an item of a cell must be (see cells_all). */
typedef struct {
    long long lo, hi;   /* an int item's bounds; a row's second item's */
    Py_ssize_t width;   /* a row's least length */
    int sender;         /* a row's second item may be NO_PID */
} ItemRule;

/* An exact int in the rule's bounds: 1, else 0. */
static int int_item(PyObject *v, const ItemRule *r) { return int_in(v, r->lo, r->hi); }

/* A row [int64, pid-ish, ...] by the rule: 1, 0, or -1 with an exception set. */
static int row_item(PyObject *row, const ItemRule *r) {
    if (!is_seq(row) || PySequence_Fast_GET_SIZE(row) < r->width) {
        return 0;
    }
    PyObject **f = PySequence_Fast_ITEMS(row);
    if (!int_in(f[0], LLONG_MIN, LLONG_MAX)) {
        return 0;
    }
    if (r->sender && PyLong_CheckExact(f[1])) {
        if (int_in(f[1], NO_PID, NO_PID)) {
            return 1;
        }
    } else if (r->sender) {
        /* `r[1] == NO_PID` as Python asks it (4294967295.0 is NO_PID too) */
        PyObject *no_pid = PyLong_FromLongLong(NO_PID);
        if (no_pid == NULL) {
            return -1;
        }
        int eq = PyObject_RichCompareBool(f[1], no_pid, Py_EQ);
        Py_DECREF(no_pid);
        if (eq < 0) {
            PyErr_Clear(); /* a value whose == raises is no pid */
        } else if (eq) {
            return 1;
        }
    }
    return int_in(f[1], r->lo, r->hi);
}

/* Whether `col` is a list or tuple of lists or tuples whose every item passes `ok`: Py_True,
 * Py_False, or NULL with an exception set. */
static PyObject *cells_all(PyObject *col, int (*ok)(PyObject *, const ItemRule *),
                           const ItemRule *rule) {
    if (!is_seq(col)) {
        Py_RETURN_FALSE;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(col);
    PyObject **cells = PySequence_Fast_ITEMS(col);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_seq(cells[i])) {
            Py_RETURN_FALSE;
        }
        Py_ssize_t m = PySequence_Fast_GET_SIZE(cells[i]);
        PyObject **items = PySequence_Fast_ITEMS(cells[i]);
        for (Py_ssize_t j = 0; j < m; j++) {
            int got = ok(items[j], rule);
            if (got < 0) {
                return NULL;
            }
            if (!got) {
                Py_RETURN_FALSE;
            }
        }
    }
    Py_RETURN_TRUE;
}

/* nested_ints_in(col, lo, hi, /) -> bool: `col` a list or tuple of lists or tuples whose every
 * item is an exact int in [lo, hi] (a links column). */
PyObject *cinema_nested_ints_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "nested_ints_in(col, lo, hi)");
        return NULL;
    }
    ItemRule rule = {0, 0, 0, 0};
    if (parse_range(args + 1, &rule.lo, &rule.hi) < 0) {
        return NULL;
    }
    return cells_all(args[0], int_item, &rule);
}

/* rows_in(col, width, lo2, hi2, sender, /) -> bool: `col` a list or tuple of lists or tuples
 * of rows, each row a list or tuple of at least `width` items whose first is an exact int64
 * and whose second an exact int in [lo2, hi2] (or NO_PID when `sender`): a monitors or
 * mailbox ids column. */
PyObject *cinema_rows_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "rows_in(col, width, lo2, hi2, sender)");
        return NULL;
    }
    ItemRule rule = {0, 0, 0, 0};
    rule.width = PyLong_AsSsize_t(args[1]);
    if (rule.width == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (parse_range(args + 2, &rule.lo, &rule.hi) < 0) {
        return NULL;
    }
    rule.sender = PyObject_IsTrue(args[4]);
    if (rule.sender < 0) {
        return NULL;
    }
    if (rule.width < 2) {
        rule.width = 2; /* a row has an id and a pid */
    }
    return cells_all(args[0], row_item, &rule);
}
