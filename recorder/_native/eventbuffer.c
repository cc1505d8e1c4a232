/* EventBuffer: the twin of recorder/payload/_buffer.py (same API, same bytes).
 *
 * emit() stamps the event (clock_gettime when the clock is time.monotonic_ns), encodes its
 * data into a scratch buffer on the caller's thread, then appends the row and the payload
 * with no Python code running in between, so the GIL makes every event whole and keeps it in
 * one batch. take() detaches the rows and the payload arena before building anything (object
 * allocation may run the garbage collector and so other threads' emits).
 */
#include "encoder.h"

#include <time.h>

typedef struct {
    int64_t ts;
    int64_t ref;
    uint32_t pid;
    uint32_t peer;
    uint32_t end; /* payload end offset in the arena */
    uint8_t kind;
} Row;

/* MonotonicClock(origin=0): time.monotonic_ns() - origin, the clock of a real-time runtime
 * (recorder.payload._buffer.MonotonicClock is its twin). An EventBuffer whose clock is one
 * reads it in C, with no Python call per event. */
typedef struct {
    PyObject_HEAD
    int64_t origin;
} MonotonicClockObject;

static int64_t monotonic_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_nsec;
}

static int mc_init(MonotonicClockObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"origin", NULL};
    long long origin = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|L:MonotonicClock", kwlist, &origin)) {
        return -1;
    }
    self->origin = (int64_t)origin;
    return 0;
}

static PyObject *mc_call(MonotonicClockObject *self, PyObject *args, PyObject *kwds) {
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "MonotonicClock() takes no arguments");
        return NULL;
    }
    return PyLong_FromLongLong((long long)(monotonic_now() - self->origin));
}

static PyObject *mc_get_origin(MonotonicClockObject *self, void *closure) {
    (void)closure;
    return PyLong_FromLongLong((long long)self->origin);
}

static PyObject *mc_repr(MonotonicClockObject *self) {
    return PyUnicode_FromFormat("MonotonicClock(origin=%lld)", (long long)self->origin);
}

static PyGetSetDef mc_getset[] = {
    {"origin", (getter)mc_get_origin, NULL, "time.monotonic_ns() at the clock's zero.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject CinemaMonotonicClock_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recorder._native._core.MonotonicClock",
    .tp_basicsize = sizeof(MonotonicClockObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "MonotonicClock(origin=0)\n\n"
              "A nanosecond clock: time.monotonic_ns() - origin. An EventBuffer reads it in C.",
    .tp_call = (ternaryfunc)mc_call,
    .tp_repr = (reprfunc)mc_repr,
    .tp_getset = mc_getset,
    .tp_init = (initproc)mc_init,
    .tp_new = PyType_GenericNew,
};

typedef struct {
    PyObject_HEAD
    PyObject *clock;
    int fast_clock;
    int64_t origin; /* subtracted from CLOCK_MONOTONIC when fast_clock */
    PyObject *limits;
    CinemaLimits lim;
    Row *rows;
    Py_ssize_t n, cap;
    Buf payloads;
    /* The recorder's slow path: on_threshold() is called after an emit leaves n >= threshold
     * (not re-entered while it runs), so that emit stays one C call in the common case. */
    PyObject *on_threshold;
    Py_ssize_t threshold;
    int in_threshold;
} EventBufferObject;

#define ARENA_LIMIT 0xffffffffULL /* payload offsets are uint32 (_buffer.PAYLOAD_ARENA_LIMIT) */
#define KEEP_ROWS 65536           /* capacity kept across take() */
#define KEEP_BYTES (4 << 20)

static int eb_init(EventBufferObject *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"clock", "limits", NULL};
    PyObject *clock = NULL, *limits = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:EventBuffer", kwlist, &clock, &limits)) {
        return -1;
    }
    if (clock == NULL) {
        clock = cinema_state.monotonic_ns;
    }
    if (clock == NULL || !PyCallable_Check(clock)) {
        PyErr_SetString(PyExc_TypeError, "clock must be callable");
        return -1;
    }
    CinemaLimits lim;
    if (limits == NULL) {
        limits = cinema_state.default_limits;
    }
    if (cinema_limits_from(limits, &lim) < 0) {
        return -1;
    }
    Py_INCREF(clock);
    Py_XSETREF(self->clock, clock);
    Py_INCREF(limits);
    Py_XSETREF(self->limits, limits);
    self->lim = lim;
    self->fast_clock = clock == cinema_state.monotonic_ns ||
                       Py_TYPE(clock) == &CinemaMonotonicClock_Type;
    self->origin = Py_TYPE(clock) == &CinemaMonotonicClock_Type
                       ? ((MonotonicClockObject *)clock)->origin
                       : 0;
    return 0;
}

static void eb_release(EventBufferObject *self) {
    PyMem_Free(self->rows);
    self->rows = NULL;
    self->n = self->cap = 0;
    buf_free(&self->payloads);
}

static int eb_traverse(EventBufferObject *self, visitproc visit, void *arg) {
    Py_VISIT(self->clock);
    Py_VISIT(self->limits);
    Py_VISIT(self->on_threshold);
    return 0;
}

static int eb_clear(EventBufferObject *self) {
    Py_CLEAR(self->clock);
    Py_CLEAR(self->limits);
    Py_CLEAR(self->on_threshold);
    return 0;
}

static void eb_dealloc(EventBufferObject *self) {
    PyObject_GC_UnTrack(self);
    eb_clear(self);
    eb_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *eb_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    (void)args;
    (void)kwds;
    EventBufferObject *self = (EventBufferObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        buf_init(&self->payloads, NULL, 0);
        self->threshold = PY_SSIZE_T_MAX;
    }
    return (PyObject *)self;
}

/* index(obj) modulo 2**64 (operator.index semantics; TypeError for a non-integer). */
static int as_u64(PyObject *obj, uint64_t *out) {
    unsigned long long u = PyLong_AsUnsignedLongLongMask(obj);
    if (u == (unsigned long long)-1 && PyErr_Occurred()) {
        return -1;
    }
    *out = (uint64_t)u;
    return 0;
}

static int read_clock(EventBufferObject *self, int64_t *ts) {
    if (self->fast_clock) {
        struct timespec t;
        if (clock_gettime(CLOCK_MONOTONIC, &t) == 0) {
            uint64_t now = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
            *ts = (int64_t)(now - (uint64_t)self->origin); /* wraps, like _buffer._wrap_i64 */
            return 0;
        }
    }
    PyObject *r = PyObject_CallNoArgs(self->clock);
    if (r == NULL) {
        return -1;
    }
    uint64_t u;
    int e = as_u64(r, &u);
    Py_DECREF(r);
    if (e < 0) {
        return -1;
    }
    *ts = (int64_t)u; /* wraps into int64, like _buffer._wrap_i64 */
    return 0;
}

static int grow_rows(EventBufferObject *self) {
    Py_ssize_t cap = self->cap ? self->cap * 2 : 1024;
    if ((size_t)cap > PY_SSIZE_T_MAX / sizeof(Row)) {
        PyErr_NoMemory();
        return -1;
    }
    Row *rows = (Row *)PyMem_Realloc(self->rows, (size_t)cap * sizeof(Row));
    if (rows == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->rows = rows;
    self->cap = cap;
    return 0;
}

static const char *emit_kwlist[] = {"kind", "pid", "peer", "ref", "data"};

PyDoc_STRVAR(emit_doc, "emit(kind, pid, peer=NO_PEER, ref=NO_REF, data=None)\n\n"
                       "Record one event now. Never raises for any data.");

static PyObject *eb_emit(EventBufferObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames) {
    PyObject *a[5] = {NULL, NULL, NULL, NULL, Py_None};
    Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > 5) {
        PyErr_SetString(PyExc_TypeError, "emit() takes at most 5 arguments");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        a[i] = args[i];
    }
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        int slot = -1;
        for (int j = 0; j < 5; j++) {
            if (PyUnicode_CompareWithASCIIString(name, emit_kwlist[j]) == 0) {
                slot = j;
                break;
            }
        }
        if (slot < 0 || slot < nargs) {
            PyErr_Format(PyExc_TypeError, "emit() got an unexpected or repeated argument %R",
                         name);
            return NULL;
        }
        a[slot] = args[nargs + k];
    }
    if (a[0] == NULL || a[1] == NULL) {
        PyErr_SetString(PyExc_TypeError, "emit() needs kind and pid");
        return NULL;
    }
    if (self->clock == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "EventBuffer was not initialised");
        return NULL;
    }
    int64_t ts;
    uint64_t kind, pid, peer = 0xffffffffULL, ref = 0;
    if (read_clock(self, &ts) < 0 || as_u64(a[0], &kind) < 0 || as_u64(a[1], &pid) < 0 ||
        (a[2] != NULL && as_u64(a[2], &peer) < 0) || (a[3] != NULL && as_u64(a[3], &ref) < 0)) {
        return NULL;
    }
    char mem[1024];
    Buf scratch;
    buf_init(&scratch, mem, sizeof(mem));
    if (a[4] != Py_None && cinema_encode_into(&scratch, a[4], &self->lim) < 0) {
        buf_free(&scratch);
        return NULL;
    }
    /* From here on no Python code runs: the event goes in whole. */
    if ((uint64_t)self->payloads.len + (uint64_t)scratch.len > ARENA_LIMIT) {
        Py_ssize_t size = scratch.len;
        scratch.len = 0;
        unsigned char m[16];
        int n = 0;
        m[n++] = 0x93;
        m[n++] = 0xa8;
        memcpy(m + n, "overflow", 8);
        n += 8;
        unsigned char ib[9];
        unsigned long long u = (unsigned long long)size;
        int il;
        if (u < 128) {
            ib[0] = (unsigned char)u;
            il = 1;
        } else if (u < 0x100) {
            ib[0] = 0xcc;
            ib[1] = (unsigned char)u;
            il = 2;
        } else if (u < 0x10000) {
            ib[0] = 0xcd;
            put_be16(ib + 1, (uint16_t)u);
            il = 3;
        } else if (u < 0x100000000ULL) {
            ib[0] = 0xce;
            put_be32(ib + 1, (uint32_t)u);
            il = 5;
        } else {
            ib[0] = 0xcf;
            put_be64(ib + 1, (uint64_t)u);
            il = 9;
        }
        unsigned char body[32];
        memcpy(body, m, (size_t)n);
        memcpy(body + n, ib, (size_t)il);
        body[n + il] = 0xc0;
        int blen = n + il + 1;
        unsigned char hdr[3] = {0xc7, (unsigned char)blen, 9};
        if (buf_put(&scratch, hdr, 3) < 0 || buf_put(&scratch, body, blen) < 0) {
            buf_free(&scratch);
            return NULL;
        }
    }
    if ((self->n == self->cap && grow_rows(self) < 0) ||
        buf_reserve(&self->payloads, scratch.len) < 0) {
        buf_free(&scratch);
        return NULL;
    }
    buf_put(&self->payloads, scratch.data, scratch.len); /* room reserved: cannot fail */
    buf_free(&scratch);
    Row *row = &self->rows[self->n++];
    row->ts = ts;
    row->kind = (uint8_t)kind;
    row->pid = (uint32_t)pid;
    row->peer = (uint32_t)peer;
    row->ref = (int64_t)ref;
    row->end = (uint32_t)self->payloads.len;
    if (self->n >= self->threshold && self->on_threshold != NULL && !self->in_threshold) {
        PyObject *cb = self->on_threshold;
        Py_INCREF(cb);
        self->in_threshold = 1;
        PyObject *r = PyObject_CallNoArgs(cb);
        self->in_threshold = 0;
        Py_DECREF(cb);
        if (r == NULL) {
            return NULL; /* the event is recorded; the callback's error propagates */
        }
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

static PyObject *bytes_of(Py_ssize_t n, char **p) {
    PyObject *b = PyBytes_FromStringAndSize(NULL, n);
    if (b != NULL) {
        *p = PyBytes_AS_STRING(b);
    }
    return b;
}

PyDoc_STRVAR(take_doc, "take() -> EventBatch\n\n"
                       "Everything buffered so far, as one batch; the buffer starts empty.");

static PyObject *eb_take(EventBufferObject *self, PyObject *Py_UNUSED(ignored)) {
    /* The columns are built straight from the rows: bytes objects are not tracked by the
     * garbage collector, so allocating them runs no Python code and no other thread can emit
     * in between. Only the batch object (built last) may run other code. */
    Py_ssize_t n = self->n;
    const Row *rows = self->rows;
    PyObject *cols[7] = {NULL};
    char *p[7];
    Py_ssize_t sizes[7] = {8 * n, n, 4 * n, 4 * n, 8 * n, 4 * (n + 1), self->payloads.len};
    for (int i = 0; i < 7; i++) {
        cols[i] = bytes_of(sizes[i], &p[i]);
        if (cols[i] == NULL) {
            for (int j = 0; j < i; j++) {
                Py_DECREF(cols[j]);
            }
            return NULL; /* nothing taken */
        }
    }
    unsigned char *ts = (unsigned char *)p[0], *kind = (unsigned char *)p[1];
    unsigned char *pid = (unsigned char *)p[2], *peer = (unsigned char *)p[3];
    unsigned char *ref = (unsigned char *)p[4], *off = (unsigned char *)p[5];
    put_le32(off, 0);
    for (Py_ssize_t i = 0; i < n; i++) {
        const Row *r = &rows[i];
        put_le64(ts + 8 * i, (uint64_t)r->ts);
        kind[i] = r->kind;
        put_le32(pid + 4 * i, r->pid);
        put_le32(peer + 4 * i, r->peer);
        put_le64(ref + 8 * i, (uint64_t)r->ref);
        put_le32(off + 4 * (i + 1), r->end);
    }
    if (self->payloads.len > 0) {
        memcpy(p[6], self->payloads.data, (size_t)self->payloads.len);
    }
    self->n = 0;
    self->payloads.len = 0;
    if (self->cap > KEEP_ROWS) { /* a burst: give the memory back */
        PyMem_Free(self->rows);
        self->rows = NULL;
        self->cap = 0;
    }
    if (self->payloads.cap > KEEP_BYTES) {
        buf_free(&self->payloads);
    }
    PyObject *batch = NULL;
    PyObject *count = PyLong_FromSsize_t(n);
    if (count != NULL) {
        PyObject *argv[8] = {count, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]};
        batch = PyObject_Vectorcall((PyObject *)cinema_state.batch_type, argv, 8, NULL);
        Py_DECREF(count);
    }
    for (int i = 0; i < 7; i++) {
        Py_DECREF(cols[i]);
    }
    return batch;
}

static Py_ssize_t eb_len(EventBufferObject *self) { return self->n; }

static PyObject *eb_nbytes(EventBufferObject *self, void *closure) {
    (void)closure;
    return PyLong_FromSsize_t(self->payloads.len);
}

static PyObject *eb_get_clock(EventBufferObject *self, void *closure) {
    (void)closure;
    PyObject *c = self->clock ? self->clock : Py_None;
    Py_INCREF(c);
    return c;
}

static PyObject *eb_get_limits(EventBufferObject *self, void *closure) {
    (void)closure;
    PyObject *l = self->limits ? self->limits : Py_None;
    Py_INCREF(l);
    return l;
}

static PyObject *eb_get_threshold(EventBufferObject *self, void *closure) {
    (void)closure;
    return PyLong_FromSsize_t(self->threshold);
}

static int eb_set_threshold(EventBufferObject *self, PyObject *value, void *closure) {
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "threshold cannot be deleted");
        return -1;
    }
    Py_ssize_t t = PyNumber_AsSsize_t(value, PyExc_OverflowError);
    if (t == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        t = PY_SSIZE_T_MAX;
    }
    self->threshold = t;
    return 0;
}

static PyObject *eb_get_on_threshold(EventBufferObject *self, void *closure) {
    (void)closure;
    PyObject *c = self->on_threshold ? self->on_threshold : Py_None;
    Py_INCREF(c);
    return c;
}

static int eb_set_on_threshold(EventBufferObject *self, PyObject *value, void *closure) {
    (void)closure;
    if (value == Py_None) {
        value = NULL;
    }
    if (value != NULL && !PyCallable_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "on_threshold must be callable or None");
        return -1;
    }
    Py_XINCREF(value);
    Py_XSETREF(self->on_threshold, value);
    return 0;
}

static PyMethodDef eb_methods[] = {
    {"emit", (PyCFunction)(void (*)(void))eb_emit, METH_FASTCALL | METH_KEYWORDS, emit_doc},
    {"take", (PyCFunction)eb_take, METH_NOARGS, take_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef eb_getset[] = {
    {"nbytes", (getter)eb_nbytes, NULL, "Payload bytes buffered.", NULL},
    {"clock", (getter)eb_get_clock, NULL, "The clock that stamps events.", NULL},
    {"limits", (getter)eb_get_limits, NULL, "The payload encoding limits.", NULL},
    {"threshold", (getter)eb_get_threshold, (setter)eb_set_threshold,
     "on_threshold() is called after an emit leaves at least this many events buffered.", NULL},
    {"on_threshold", (getter)eb_get_on_threshold, (setter)eb_set_on_threshold,
     "Called with no arguments when the buffer reaches threshold (None: never).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods eb_as_sequence = {
    .sq_length = (lenfunc)eb_len,
};

PyTypeObject CinemaEventBuffer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recorder._native._core.EventBuffer",
    .tp_basicsize = sizeof(EventBufferObject),
    .tp_dealloc = (destructor)eb_dealloc,
    .tp_as_sequence = &eb_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "EventBuffer(clock=time.monotonic_ns, limits=DEFAULT_LIMITS)\n\n"
              "Events stamped and encoded as they happen; taken by the writer in batches.",
    .tp_traverse = (traverseproc)eb_traverse,
    .tp_clear = (inquiry)eb_clear,
    .tp_methods = eb_methods,
    .tp_getset = eb_getset,
    .tp_init = (initproc)eb_init,
    .tp_new = eb_new,
};
