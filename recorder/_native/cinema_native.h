/* The C API of recorder._native._core, for other C extensions (the writer could use it).
 *
 *     CinemaNativeAPI *api = PyCapsule_Import("recorder._native._core._C_API", 0);
 *     api->encode_bytes(value, limits_obj)      -> new bytes, or NULL with an exception
 *
 * Encoding never fails for any value: only signals raised by the value's own code
 * (KeyboardInterrupt, SystemExit, ...) and MemoryError come back as errors. The GIL must be
 * held for the whole call.
 */
#ifndef CINEMA_NATIVE_H
#define CINEMA_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define CINEMA_NATIVE_API_VERSION 1

typedef struct {
    Py_ssize_t max_depth, max_items, max_str, max_bytes, max_repr, max_nodes;
} CinemaLimits;

typedef struct {
    int version; /* CINEMA_NATIVE_API_VERSION */
    /* encode(value, limits) as bytes; limits may be NULL (the defaults) */
    PyObject *(*encode_bytes)(PyObject *value, PyObject *limits);
    /* read a recorder.payload.Limits into *out: 0, or -1 with an exception */
    int (*limits_from)(PyObject *limits, CinemaLimits *out);
} CinemaNativeAPI;

#endif /* CINEMA_NATIVE_H */
