/* frame_tally(kinds, pids): what the writer counts in each EVENTS frame, in one pass.
 *
 * The writer thread needs, for every frame it builds, the events of each kind (the footer's
 * kind counts, the summary's kind mask, the kind index's rare kinds) and the events each
 * process acts (the summary's lane counts). Done with numpy, that is eight small array calls
 * and their Python glue per frame, holding the GIL the program wants; here it is one C call.
 * recorder.session.summary.py_frame_tally is its twin (the same values; tests/recorder/session/
 * test_summary.py compares them).
 */
#include "buffer.h"

#include <stdlib.h>

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t get_le32_at(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Distinct values of `col` (n values), ascending, with their counts, as little-endian uint32
 * bytes; returns the number of distinct values, or -1 with an exception set. */
static Py_ssize_t lanes(const unsigned char *col, Py_ssize_t n, PyObject **keys_out,
                        PyObject **counts_out) {
    uint32_t top = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t v = get_le32_at(col + 4 * i);
        top = v > top ? v : top;
    }
    uint32_t *vals = NULL, *cnts = NULL;
    Py_ssize_t m = 0;
    if (n > 0 && (uint64_t)top < 16 * (uint64_t)n + 65536) { /* small pids: a tally */
        uint32_t *tally = (uint32_t *)PyMem_Calloc((size_t)top + 1, sizeof(uint32_t));
        if (tally == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            uint32_t v = get_le32_at(col + 4 * i);
            m += tally[v] == 0;
            tally[v]++;
        }
        vals = (uint32_t *)PyMem_Malloc((size_t)(m ? m : 1) * 2 * sizeof(uint32_t));
        if (vals == NULL) {
            PyMem_Free(tally);
            PyErr_NoMemory();
            return -1;
        }
        cnts = vals + m;
        Py_ssize_t j = 0;
        for (uint64_t v = 0; v <= top; v++) {
            if (tally[v]) {
                vals[j] = (uint32_t)v;
                cnts[j++] = tally[v];
            }
        }
        PyMem_Free(tally);
    } else if (n > 0) { /* sparse pids: sort a copy */
        uint32_t *sorted = (uint32_t *)PyMem_Malloc((size_t)n * 3 * sizeof(uint32_t));
        if (sorted == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            sorted[i] = get_le32_at(col + 4 * i);
        }
        qsort(sorted, (size_t)n, sizeof(uint32_t), cmp_u32);
        vals = sorted + n; /* room for n distinct values and n counts after the copy */
        cnts = sorted + 2 * n;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (m > 0 && vals[m - 1] == sorted[i]) {
                cnts[m - 1]++;
            } else {
                vals[m] = sorted[i];
                cnts[m++] = 1;
            }
        }
        memmove(sorted, vals, (size_t)m * sizeof(uint32_t));
        memmove(sorted + m, cnts, (size_t)m * sizeof(uint32_t));
        vals = sorted;
        cnts = sorted + m;
    }
    PyObject *keys = PyBytes_FromStringAndSize(NULL, 4 * m);
    PyObject *counts = keys != NULL ? PyBytes_FromStringAndSize(NULL, 4 * m) : NULL;
    if (counts == NULL) {
        Py_XDECREF(keys);
        PyMem_Free(vals);
        return -1;
    }
    unsigned char *kp = (unsigned char *)PyBytes_AS_STRING(keys);
    unsigned char *cp = (unsigned char *)PyBytes_AS_STRING(counts);
    for (Py_ssize_t j = 0; j < m; j++) {
        put_le32(kp + 4 * j, vals[j]);
        put_le32(cp + 4 * j, cnts[j]);
    }
    PyMem_Free(vals);
    *keys_out = keys;
    *counts_out = counts;
    return m;
}

const char *cinema_frame_tally_doc =
    "frame_tally(kinds, pids, /) -> (kind_counts, lanes, lane_pids, lane_counts)\n\n"
    "A frame's kind column (uint8) and pid column (little-endian uint32) counted:\n"
    "[(kind, events), ...] for each kind present, ascending; the number of distinct pids; the\n"
    "pids ascending and each one's events, both as little-endian uint32 bytes.";

PyObject *cinema_frame_tally(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "frame_tally(kinds, pids, /)");
        return NULL;
    }
    Py_buffer kv, pv;
    if (PyObject_GetBuffer(args[0], &kv, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &pv, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&kv);
        return NULL;
    }
    PyObject *result = NULL, *kinds = NULL, *keys = NULL, *counts = NULL;
    if (pv.len % 4 != 0) {
        PyErr_SetString(PyExc_ValueError, "pids must hold whole uint32 values");
        goto done;
    }
    Py_ssize_t per_kind[256] = {0};
    const unsigned char *k = (const unsigned char *)kv.buf;
    for (Py_ssize_t i = 0; i < kv.len; i++) {
        per_kind[k[i]]++;
    }
    Py_ssize_t present = 0;
    for (int c = 0; c < 256; c++) {
        present += per_kind[c] != 0;
    }
    kinds = PyList_New(present);
    if (kinds == NULL) {
        goto done;
    }
    for (int c = 0, j = 0; c < 256; c++) {
        if (per_kind[c] == 0) {
            continue;
        }
        PyObject *pair = Py_BuildValue("(in)", c, per_kind[c]);
        if (pair == NULL) {
            goto done;
        }
        PyList_SET_ITEM(kinds, j++, pair);
    }
    Py_ssize_t m = lanes((const unsigned char *)pv.buf, pv.len / 4, &keys, &counts);
    if (m < 0) {
        goto done;
    }
    result = Py_BuildValue("(OnOO)", kinds, m, keys, counts);
done:
    Py_XDECREF(kinds);
    Py_XDECREF(keys);
    Py_XDECREF(counts);
    PyBuffer_Release(&kv);
    PyBuffer_Release(&pv);
    return result;
}
