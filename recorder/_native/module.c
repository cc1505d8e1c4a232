/* recorder._native._core: module functions (setup, encode, ts_deltas) and the C API capsule.
 * The EventBuffer type is in eventbuffer.c, the encoder in encoder.c. */
#include "encoder.h"
#include "scan.h"
#include <structmember.h>

/* The offset of the object slot `name` of a slotted class (a member descriptor). */
static int slot_offset(PyTypeObject *t, const char *name, Py_ssize_t *off) {
    PyObject *d = PyDict_GetItemString(t->tp_dict, name); /* borrowed */
    if (d == NULL || Py_TYPE(d) != &PyMemberDescr_Type) {
        PyErr_Format(PyExc_TypeError, "%s.%s must be a __slots__ member", t->tp_name, name);
        return -1;
    }
    PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
    if (m->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not an object slot", t->tp_name, name);
        return -1;
    }
    *off = m->offset;
    return 0;
}

static int intern(PyObject **slot, const char *s) {
    if (*slot == NULL) {
        *slot = PyUnicode_InternFromString(s);
    }
    return *slot == NULL ? -1 : 0;
}

static PyObject *setup(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *limits, *pid, *ref, *packed, *ext, *batch, *field_marker;
    Py_ssize_t bigint_bits;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!On:setup", &limits, &PyType_Type, &pid,
                          &PyType_Type, &ref, &PyType_Type, &packed, &PyType_Type, &ext,
                          &PyType_Type, &batch, &field_marker, &bigint_bits)) {
        return NULL;
    }
    CinemaState *S = &cinema_state;
    Py_ssize_t pid_off, ref_off, packed_off;
    if (slot_offset((PyTypeObject *)pid, "n", &pid_off) < 0 ||
        slot_offset((PyTypeObject *)ref, "n", &ref_off) < 0 ||
        slot_offset((PyTypeObject *)packed, "data", &packed_off) < 0) {
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)ext, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "the ExtType class must be a tuple subclass");
        return NULL;
    }
    if (intern(&S->s_dict, "__dict__") < 0 || intern(&S->s_name_, "_name_") < 0 ||
        intern(&S->s_value_, "_value_") < 0 || intern(&S->s_field_type, "_field_type") < 0 ||
        intern(&S->s_fields, "_fields") < 0 ||
        intern(&S->s_dataclass_fields, "__dataclass_fields__") < 0 ||
        intern(&S->s_builtins, "builtins") < 0 || intern(&S->s_main, "__main__") < 0 ||
        intern(&S->s_empty, "") < 0 || intern(&S->s_ellipsis, "\xe2\x80\xa6") < 0) {
        return NULL;
    }
    PyObject *dm = PyDict_GetItemString(PyType_Type.tp_dict, "__module__");
    PyObject *dq = PyDict_GetItemString(PyType_Type.tp_dict, "__qualname__");
    if (dm == NULL || dq == NULL || Py_TYPE(dm)->tp_descr_get == NULL ||
        Py_TYPE(dq)->tp_descr_get == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "type.__module__ / __qualname__ not found");
        return NULL;
    }
    PyObject *enum_mod = PyImport_ImportModule("enum");
    if (enum_mod == NULL) {
        return NULL;
    }
    PyObject *enum_type = PyObject_GetAttrString(enum_mod, "Enum");
    Py_DECREF(enum_mod);
    if (enum_type == NULL) {
        return NULL;
    }
    if (!PyType_Check(enum_type)) {
        Py_DECREF(enum_type);
        PyErr_SetString(PyExc_TypeError, "enum.Enum is not a type");
        return NULL;
    }
    PyObject *time_mod = PyImport_ImportModule("time");
    if (time_mod == NULL) {
        Py_DECREF(enum_type);
        return NULL;
    }
    PyObject *mono = PyObject_GetAttrString(time_mod, "monotonic_ns");
    Py_DECREF(time_mod);
    if (mono == NULL) {
        Py_DECREF(enum_type);
        return NULL;
    }
    Py_INCREF(pid);
    Py_INCREF(ref);
    Py_INCREF(packed);
    Py_INCREF(ext);
    Py_INCREF(batch);
    Py_INCREF(field_marker);
    Py_INCREF(dm);
    Py_INCREF(dq);
    Py_XSETREF(S->pid_type, (PyTypeObject *)pid);
    Py_XSETREF(S->ref_type, (PyTypeObject *)ref);
    Py_XSETREF(S->packed_type, (PyTypeObject *)packed);
    Py_XSETREF(S->ext_type, (PyTypeObject *)ext);
    Py_XSETREF(S->batch_type, (PyTypeObject *)batch);
    Py_XSETREF(S->enum_type, (PyTypeObject *)enum_type);
    Py_XSETREF(S->field_marker, field_marker);
    Py_XSETREF(S->descr_module, dm);
    Py_XSETREF(S->descr_qualname, dq);
    Py_XSETREF(S->monotonic_ns, mono);
    S->pid_off = pid_off;
    S->ref_off = ref_off;
    S->packed_off = packed_off;
    S->bigint_max_bits = bigint_bits;
    Py_CLEAR(S->last_limits);
    Py_INCREF(Py_TYPE(limits));
    Py_XSETREF(S->limits_type, Py_TYPE(limits));
    CinemaLimits lim;
    if (cinema_limits_read(limits, &lim) < 0) {
        return NULL;
    }
    Py_INCREF(limits);
    Py_XSETREF(S->default_limits, limits);
    S->default_lim = lim;
    S->ready = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(encode_doc,
             "encode(value, limits=None, /) -> bytes\n\n"
             "The payload encoding of value (None: the default limits). The same bytes as\n"
             "recorder.payload._walk.encode; never raises for any value (signals raised by\n"
             "the value's own code, such as KeyboardInterrupt, propagate).");

static PyObject *encode(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "encode(value, limits=None, /)");
        return NULL;
    }
    CinemaLimits lim;
    if (cinema_limits_from(nargs > 1 ? args[1] : NULL, &lim) < 0) {
        return NULL;
    }
    PyObject *v = args[0];
    if (v == Py_None) {
        return PyBytes_FromStringAndSize(NULL, 0);
    }
    if (Py_TYPE(v) == cinema_state.packed_type) {
        PyObject *data = *(PyObject **)((char *)v + cinema_state.packed_off);
        if (data != NULL && PyBytes_CheckExact(data)) {
            Py_INCREF(data);
            return data;
        }
    }
    char mem[512];
    Buf b;
    buf_init(&b, mem, sizeof(mem));
    if (cinema_encode_into(&b, v, &lim) < 0) {
        buf_free(&b);
        return NULL;
    }
    PyObject *r = PyBytes_FromStringAndSize(b.data, b.len);
    buf_free(&b);
    return r;
}

PyDoc_STRVAR(freeze_doc,
             "freeze(value, limits=None) -> Packed\n\n"
             "recorder.payload.freeze in one C call: value encoded now, as a Packed (a Packed\n"
             "is returned as it is).");

/* Packed is a slotted Python class whose only state is its `data` slot: allocate it and fill
 * the slot, as Packed(data) would, without running its __init__ in Python. Steals data. */
static PyObject *new_packed(PyObject *data) {
    CinemaState *S = &cinema_state;
    PyTypeObject *t = S->packed_type;
    PyObject *packed = t->tp_alloc(t, 0);
    if (packed == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    *(PyObject **)((char *)packed + S->packed_off) = data; /* the new reference moves in */
    return packed;
}

static PyObject *freeze(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames) {
    CinemaState *S = &cinema_state;
    PyObject *a[2] = {NULL, NULL};
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > 2 || nargs + nkw > 2) {
        PyErr_SetString(PyExc_TypeError, "freeze(value, limits=None)");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        a[i] = args[i];
    }
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        int slot = PyUnicode_CompareWithASCIIString(name, "value") == 0    ? 0
                   : PyUnicode_CompareWithASCIIString(name, "limits") == 0 ? 1
                                                                           : -1;
        if (slot < 0 || a[slot] != NULL) {
            PyErr_Format(PyExc_TypeError, "freeze() got an unexpected or repeated argument %R",
                         name);
            return NULL;
        }
        a[slot] = args[nargs + k];
    }
    if (a[0] == NULL) {
        PyErr_SetString(PyExc_TypeError, "freeze() needs a value");
        return NULL;
    }
    if (Py_TYPE(a[0]) == S->packed_type) {
        Py_INCREF(a[0]);
        return a[0];
    }
    PyObject *data = encode(self, a, a[1] != NULL ? 2 : 1);
    if (data == NULL) {
        return NULL;
    }
    return new_packed(data);
}

PyDoc_STRVAR(freeze_after_doc,
             "freeze_after(value, prefix, /) -> (Packed, Packed)\n\n"
             "freeze(value) and a Packed of prefix followed by those bytes (0xc0, msgpack nil,\n"
             "when the value encodes to none), from one encoding: a STATE event's data\n"
             "(recorder.sandbox.recording.state_data) and the state frozen for keyframes.");

static PyObject *freeze_after(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "freeze_after(value, prefix: bytes, /)");
        return NULL;
    }
    CinemaState *S = &cinema_state;
    PyObject *frozen;
    if (Py_TYPE(args[0]) == S->packed_type) {
        frozen = args[0];
        Py_INCREF(frozen);
    } else {
        frozen = freeze(self, args, 1, NULL);
        if (frozen == NULL) {
            return NULL;
        }
    }
    PyObject *data = *(PyObject **)((char *)frozen + S->packed_off);
    if (data == NULL || !PyBytes_CheckExact(data)) {
        Py_DECREF(frozen);
        PyErr_SetString(PyExc_TypeError, "freeze_after: a Packed without bytes");
        return NULL;
    }
    Py_ssize_t np = PyBytes_GET_SIZE(args[1]), nd = PyBytes_GET_SIZE(data);
    PyObject *joined = PyBytes_FromStringAndSize(NULL, np + (nd ? nd : 1));
    if (joined == NULL) {
        Py_DECREF(frozen);
        return NULL;
    }
    char *w = PyBytes_AS_STRING(joined);
    memcpy(w, PyBytes_AS_STRING(args[1]), (size_t)np);
    if (nd) {
        memcpy(w + np, PyBytes_AS_STRING(data), (size_t)nd);
    } else {
        w[np] = (char)0xc0;
    }
    PyObject *event = new_packed(joined);
    if (event == NULL) {
        Py_DECREF(frozen);
        return NULL;
    }
    PyObject *pair = PyTuple_New(2);
    if (pair == NULL) {
        Py_DECREF(frozen);
        Py_DECREF(event);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, frozen);
    PyTuple_SET_ITEM(pair, 1, event);
    return pair;
}

PyDoc_STRVAR(ts_deltas_doc,
             "ts_deltas(ts, /) -> bytes\n\n"
             "int64 little-endian deltas of an int64 little-endian column (the first is 0),\n"
             "wrapping on overflow.");

static PyObject *ts_deltas(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Py_ssize_t n = view.len / 8;
    if (view.len % 8 != 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "ts must hold whole int64 values");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, view.len);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *src = (const unsigned char *)view.buf;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    uint64_t prev = n > 0 ? get_le64(src) : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t x = get_le64(src + 8 * i);
        put_le64(dst + 8 * i, x - prev); /* wraps modulo 2**64, as int64 */
        prev = x;
    }
    PyBuffer_Release(&view);
    return out;
}

static PyObject *api_encode_bytes(PyObject *value, PyObject *limits) {
    PyObject *args[2] = {value, limits != NULL ? limits : Py_None};
    return encode(NULL, args, 2);
}

static CinemaNativeAPI native_api = {
    CINEMA_NATIVE_API_VERSION,
    api_encode_bytes,
    cinema_limits_from,
};

/* texts.c */
PyObject *cinema_payload_texts(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
extern const char *cinema_payload_texts_doc;
PyObject *cinema_payload_columns(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
extern const char *cinema_payload_columns_doc;
/* tally.c */
PyObject *cinema_frame_tally(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
extern const char *cinema_frame_tally_doc;
/* checks.c */
PyObject *cinema_ints_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *cinema_nested_ints_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *cinema_rows_in(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
/* trace.c */
PyObject *cinema_trace_events(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
extern const char *cinema_trace_events_doc;

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS,
     "setup(default_limits, Pid, Ref, Packed, ExtType, EventBatch, field_marker, "
     "bigint_max_bits): hand over the Python types the encoder recognises."},
    {"encode", (PyCFunction)(void (*)(void))encode, METH_FASTCALL, encode_doc},
    {"freeze", (PyCFunction)(void (*)(void))freeze, METH_FASTCALL | METH_KEYWORDS, freeze_doc},
    {"freeze_after", (PyCFunction)(void (*)(void))freeze_after, METH_FASTCALL, freeze_after_doc},
    {"ts_deltas", ts_deltas, METH_O, ts_deltas_doc},
    {"mailbox_cells", (PyCFunction)(void (*)(void))cinema_mailbox_cells, METH_FASTCALL,
     "mailbox_cells(envelopes, limit, limits, /) -> (payload, ids, rows) | None\n\n"
     "A sandbox mailbox's keyframe cells without building its lists (see\n"
     "recorder.session.keyframes.MailboxCells)."},
    {"scan", (PyCFunction)(void (*)(void))cinema_scan, METH_FASTCALL, cinema_scan_doc},
    {"payload_texts", (PyCFunction)(void (*)(void))cinema_payload_texts, METH_FASTCALL, NULL},
    {"payload_columns", (PyCFunction)(void (*)(void))cinema_payload_columns, METH_FASTCALL, NULL},
    {"trace_events", (PyCFunction)(void (*)(void))cinema_trace_events, METH_FASTCALL, NULL},
    {"frame_tally", (PyCFunction)(void (*)(void))cinema_frame_tally, METH_FASTCALL, NULL},
    {"ints_in", (PyCFunction)(void (*)(void))cinema_ints_in, METH_FASTCALL,
     "ints_in(col, lo, hi, optional, /) -> bool (see checks.c)"},
    {"nested_ints_in", (PyCFunction)(void (*)(void))cinema_nested_ints_in, METH_FASTCALL,
     "nested_ints_in(col, lo, hi, /) -> bool (see checks.c)"},
    {"rows_in", (PyCFunction)(void (*)(void))cinema_rows_in, METH_FASTCALL,
     "rows_in(col, width, lo2, hi2, sender, /) -> bool (see checks.c)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "recorder._native._core",
    "Cinema's native payload encoder and event buffer (twins of recorder.payload._walk and\n"
    "recorder.payload._buffer).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__core(void) {
    if (PyType_Ready(&CinemaEventBuffer_Type) < 0 || PyType_Ready(&CinemaMonotonicClock_Type) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&CinemaEventBuffer_Type);
    if (PyModule_AddObject(m, "EventBuffer", (PyObject *)&CinemaEventBuffer_Type) < 0) {
        Py_DECREF(&CinemaEventBuffer_Type);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&CinemaMonotonicClock_Type);
    if (PyModule_AddObject(m, "MonotonicClock", (PyObject *)&CinemaMonotonicClock_Type) < 0) {
        Py_DECREF(&CinemaMonotonicClock_Type);
        Py_DECREF(m);
        return NULL;
    }
    PyObject *cap = PyCapsule_New(&native_api, "recorder._native._core._C_API", NULL);
    if (cap == NULL || PyModule_AddObject(m, "_C_API", cap) < 0) {
        Py_XDECREF(cap);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "API_VERSION", CINEMA_NATIVE_API_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
