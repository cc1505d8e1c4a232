/* scan(): what a payload's bytes say about the value before it is decoded (scan.c). */
#ifndef CINEMA_SCAN_H
#define CINEMA_SCAN_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define cinema_scan_doc                                                                      \
    "scan(data, max_nesting, hash_check) -> int: the levels of containers the msgpack bytes\n" \
    "decode to (at most max_nesting, and no map with more than hash_check extension or float\n" \
    "keys); -1: nested deeper than max_nesting; -2: unsure (decode with every check)."

PyObject *cinema_scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs);

#endif /* CINEMA_SCAN_H */
