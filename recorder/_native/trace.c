/* recorder._native._core.trace_events: the Trace Event Format text of one chunk of events, for
 * the chrome-trace export (cinema/model/export/chrome.py).
 *
 * The twin of the per-event loop of chrome.py's reference path (write_chrome_trace with
 * native=False): the same state (messages in flight, open handler runs, each process's latest
 * timestamp: plain dicts shared with the Python side, which closes the runs left open at the
 * end), the same text byte for byte. The payload texts and heads come in ready (from
 * payload_texts, what it declined already said by the reference); thread ids, process labels
 * and any string that needs escaping are asked of Python (the callables and caches passed in),
 * in the order the reference asks, so the redaction report comes out the same.
 * tests/cinema/model/export/test_chrome.py holds the two to the same bytes. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "buffer.h"

#define NO_PID 0xFFFFFFFFu
#define NO_REF 0

enum { K_EXIT = 1, K_CRASH = 2, K_SEND = 3, K_RECEIVE = 4, K_DROP = 8, K_STATE = 9,
       K_RESTART = 14 };

typedef struct {
    Buf b;
    int64_t t0;
    PyObject *where, *where_fn, *labels, *label_fn, *quote;
    PyObject *cats, *kind_names;
    Py_ssize_t items;
} Ctx;

#define PUTS(b, s) buf_put((b), (s), (Py_ssize_t)(sizeof(s) - 1))

static int put_i64(Buf *b, int64_t v) {
    char tmp[24];
    char *e = tmp + sizeof tmp, *q = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--q = '-';
    return buf_put(b, q, e - q);
}

static int put_str(Buf *b, PyObject *s) {
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(s, &n);
    if (p == NULL) return -1;
    return buf_put(b, p, n);
}

/* Whether json.dumps(s) (ensure_ascii) is s between quotes: printable ASCII, no quote or
 * backslash. */
static int plain(PyObject *s) {
    if (!PyUnicode_IS_ASCII(s)) return 0;
    const unsigned char *p = PyUnicode_1BYTE_DATA(s);
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    for (Py_ssize_t k = 0; k < n; k++) {
        unsigned char c = p[k];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return 0;
    }
    return 1;
}

/* json.dumps(prefix + s + suffix) (prefix, suffix: plain ASCII). */
static int put_quoted(Ctx *c, const char *prefix, PyObject *s, const char *suffix) {
    if (plain(s)) {
        if (buf_byte(&c->b, '"') < 0 || buf_put(&c->b, prefix, (Py_ssize_t)strlen(prefix)) < 0 ||
            put_str(&c->b, s) < 0 || buf_put(&c->b, suffix, (Py_ssize_t)strlen(suffix)) < 0) {
            return -1;
        }
        return buf_byte(&c->b, '"');
    }
    PyObject *whole = PyUnicode_FromFormat("%s%U%s", prefix, s, suffix);
    if (whole == NULL) return -1;
    PyObject *q = PyObject_CallOneArg(c->quote, whole);
    Py_DECREF(whole);
    if (q == NULL) return -1;
    int rc = PyUnicode_Check(q) ? put_str(&c->b, q) : -1;
    if (rc < 0 && !PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "quote must give a str");
    Py_DECREF(q);
    return rc;
}

/* f"{(a - b) / 1000:.3f}" (a - b: Python ints). Below 2**40 µs a double's error is under
 * 0.0005, so the correctly rounded three decimals are the exact quotient's: integer arithmetic
 * says them; the rest is done as Python does (true division, then the float's format). */
static int put_us(Ctx *c, int64_t a, int64_t b) {
    int fits = !((b > 0 && a < INT64_MIN + b) || (b < 0 && a > INT64_MAX + b));
    if (fits && a - b >= 0 && a - b < INT64_C(1000000000000000)) {
        uint64_t d = (uint64_t)(a - b);
        char tmp[32];
        char *e = tmp + sizeof tmp, *q = e;
        for (int k = 0; k < 3; k++, d /= 10) *--q = (char)('0' + d % 10);
        *--q = '.';
        do {
            *--q = (char)('0' + d % 10);
            d /= 10;
        } while (d);
        return buf_put(&c->b, q, e - q);
    }
    PyObject *x = PyLong_FromLongLong(a), *y = PyLong_FromLongLong(b), *k = PyLong_FromLong(1000);
    PyObject *diff = x && y ? PyNumber_Subtract(x, y) : NULL;
    PyObject *q = diff && k ? PyNumber_TrueDivide(diff, k) : NULL;
    Py_XDECREF(x);
    Py_XDECREF(y);
    Py_XDECREF(k);
    Py_XDECREF(diff);
    if (q == NULL) return -1;
    double v = PyFloat_AsDouble(q);
    Py_DECREF(q);
    if (v == -1.0 && PyErr_Occurred()) return -1;
    char *s = PyOS_double_to_string(v, 'f', 3, 0, NULL);
    if (s == NULL) return -1;
    int rc = buf_put(&c->b, s, (Py_ssize_t)strlen(s));
    PyMem_Free(s);
    return rc;
}

/* d.pop(key, None): *out a new reference or NULL (absent); 0, or -1 with an exception. */
static int dict_pop(PyObject *d, PyObject *key, PyObject **out) {
    PyObject *v = PyDict_GetItemWithError(d, key);
    *out = NULL;
    if (v == NULL) return PyErr_Occurred() ? -1 : 0;
    Py_INCREF(v);
    if (PyDict_DelItem(d, key) < 0) {
        Py_DECREF(v);
        return -1;
    }
    *out = v;
    return 0;
}

/* A cached str for key (cache[key], else fn(key)): a new reference. */
static PyObject *ask(PyObject *cache, PyObject *fn, PyObject *key) {
    PyObject *v = PyDict_GetItemWithError(cache, key);
    if (v != NULL) return Py_NewRef(v);
    if (PyErr_Occurred()) return NULL;
    v = PyObject_CallOneArg(fn, key);
    if (v != NULL && !PyUnicode_Check(v)) {
        Py_DECREF(v);
        PyErr_SetString(PyExc_TypeError, "trace_events: a track or label must be a str");
        return NULL;
    }
    return v;
}

static PyObject *where_of(Ctx *c, uint32_t pid) {
    PyObject *key = PyLong_FromUnsignedLong(pid);
    if (key == NULL) return NULL;
    PyObject *w = ask(c->where, c->where_fn, key);
    Py_DECREF(key);
    return w;
}

/* "null", or the quoted label of a process. */
static int put_label(Ctx *c, PyObject *pid) {
    if (pid == Py_None) return PUTS(&c->b, "null");
    PyObject *q = ask(c->labels, c->label_fn, pid);
    if (q == NULL) return -1;
    int rc = put_str(&c->b, q);
    Py_DECREF(q);
    return rc;
}

static int sep(Ctx *c) {
    if (c->items++ == 0) return 0;
    return PUTS(&c->b, ",\n");
}

/* The complete slice of a handler run [ts, name, seq, msg_id, sender], closed at the
 * process's latest event. */
static int close_run(Ctx *c, PyObject *pid_obj, PyObject *w, PyObject *run, PyObject *last) {
    if (!PyList_Check(run) || PyList_GET_SIZE(run) != 5) {
        PyErr_SetString(PyExc_TypeError, "trace_events: a handler run is a list of 5");
        return -1;
    }
    int64_t start = PyLong_AsLongLong(PyList_GET_ITEM(run, 0));
    int64_t seq = PyLong_AsLongLong(PyList_GET_ITEM(run, 2));
    int64_t msg_id = PyLong_AsLongLong(PyList_GET_ITEM(run, 3));
    if (PyErr_Occurred()) return -1;
    PyObject *lt = PyDict_GetItemWithError(last, pid_obj);
    if (lt == NULL && PyErr_Occurred()) return -1;
    int64_t end = lt == NULL ? start : PyLong_AsLongLong(lt);
    if (end == -1 && PyErr_Occurred()) return -1;
    if (sep(c) < 0 || PUTS(&c->b, "{\"ph\":\"X\",\"cat\":\"handler\",\"name\":") < 0 ||
        put_quoted(c, "", PyList_GET_ITEM(run, 1), "") < 0 || buf_byte(&c->b, ',') < 0 ||
        put_str(&c->b, w) < 0 || PUTS(&c->b, ",\"ts\":") < 0 || put_us(c, start, c->t0) < 0 ||
        PUTS(&c->b, ",\"dur\":") < 0 || put_us(c, end > start ? end : start, start) < 0 ||
        PUTS(&c->b, ",\"args\":{\"seq\":") < 0 || put_i64(&c->b, seq) < 0 ||
        PUTS(&c->b, ",\"msg_id\":") < 0 || put_i64(&c->b, msg_id) < 0 ||
        PUTS(&c->b, ",\"from\":") < 0 || put_label(c, PyList_GET_ITEM(run, 4)) < 0 ||
        PUTS(&c->b, "}}") < 0) {
        return -1;
    }
    return 0;
}

static int get_buffer(PyObject *o, Py_buffer *v, Py_ssize_t itemsize, Py_ssize_t n,
                      const char *what) {
    if (PyObject_GetBuffer(o, v, PyBUF_SIMPLE) < 0) return -1;
    if (v->len != itemsize * n) {
        PyErr_Format(PyExc_ValueError, "trace_events: %s has the wrong size", what);
        PyBuffer_Release(v);
        return -1;
    }
    return 0;
}

/* The flow end ("f") or start ("s") of a message. */
static int put_flow(Ctx *c, const char *ph, int64_t ref, PyObject *w, int64_t ts) {
    if (sep(c) < 0 || PUTS(&c->b, "{\"ph\":") < 0 || buf_put(&c->b, ph, (Py_ssize_t)strlen(ph)) < 0 ||
        PUTS(&c->b, ",\"cat\":\"message\",\"name\":\"message\",\"id\":") < 0 ||
        put_i64(&c->b, ref) < 0 || buf_byte(&c->b, ',') < 0 || put_str(&c->b, w) < 0 ||
        PUTS(&c->b, ",\"ts\":") < 0 || put_us(c, ts, c->t0) < 0 || buf_byte(&c->b, '}') < 0) {
        return -1;
    }
    return 0;
}

/* A payload's JSON text: "" is an empty payload (null). */
static int put_text(Ctx *c, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "trace_events: a payload text must be a str");
        return -1;
    }
    if (PyUnicode_GET_LENGTH(text) == 0) return PUTS(&c->b, "null");
    return put_str(&c->b, text);
}

static int one_event(Ctx *c, int64_t seq, int64_t ts, int kind, uint32_t pid, uint32_t peer,
                     int64_t ref, PyObject *text, PyObject *head, PyObject *inflight,
                     PyObject *handler, PyObject *last) {
    int rc = -1;
    PyObject *w = NULL, *pid_obj = NULL, *ts_obj = NULL, *ref_obj = NULL, *run = NULL;
    PyObject *peer_obj = NULL, *name = NULL, *what = NULL;
    if ((w = where_of(c, pid)) == NULL || (pid_obj = PyLong_FromUnsignedLong(pid)) == NULL ||
        (ts_obj = PyLong_FromLongLong(ts)) == NULL || (ref_obj = PyLong_FromLongLong(ref)) == NULL) {
        goto done;
    }
    if (peer == NO_PID) {
        peer_obj = Py_NewRef(Py_None);
    } else if ((peer_obj = PyLong_FromUnsignedLong(peer)) == NULL) {
        goto done;
    }
    if (kind == K_RECEIVE) {
        if (dict_pop(handler, pid_obj, &run) < 0) goto done;
        if (run != NULL && close_run(c, pid_obj, w, run, last) < 0) goto done;
        if (dict_pop(inflight, ref_obj, &what) < 0) goto done;
        if (what != NULL && what != Py_None && put_flow(c, "\"f\",\"bp\":\"e\"", ref, w, ts) < 0) {
            goto done;
        }
        int named = what != NULL && what != Py_None && PyObject_IsTrue(what);
        if (named < 0) goto done;
        name = named ? PyUnicode_FromFormat("handle %U", what) : PyUnicode_FromString("handle");
        if (name == NULL) goto done;
        PyObject *seq_obj = PyLong_FromLongLong(seq);
        if (seq_obj == NULL) goto done;
        PyObject *r = PyList_New(5);
        if (r == NULL) {
            Py_DECREF(seq_obj);
            goto done;
        }
        PyList_SET_ITEM(r, 0, Py_NewRef(ts_obj));
        PyList_SET_ITEM(r, 1, Py_NewRef(name));
        PyList_SET_ITEM(r, 2, seq_obj);
        PyList_SET_ITEM(r, 3, Py_NewRef(ref_obj));
        PyList_SET_ITEM(r, 4, Py_NewRef(peer_obj));
        int set = PyDict_SetItem(handler, pid_obj, r);
        Py_DECREF(r);
        if (set < 0) goto done;
    } else if (kind == K_SEND) {
        if (!PyUnicode_Check(head)) {
            PyErr_SetString(PyExc_TypeError, "trace_events: a send's head must be a str");
            goto done;
        }
        if (sep(c) < 0 || PUTS(&c->b, "{\"ph\":\"X\",\"cat\":\"send\",\"name\":") < 0 ||
            put_quoted(c, "send ", head, "") < 0 || buf_byte(&c->b, ',') < 0 ||
            put_str(&c->b, w) < 0 || PUTS(&c->b, ",\"ts\":") < 0 || put_us(c, ts, c->t0) < 0 ||
            PUTS(&c->b, ",\"dur\":0,\"args\":{\"seq\":") < 0 || put_i64(&c->b, seq) < 0 ||
            PUTS(&c->b, ",\"msg_id\":") < 0 || put_i64(&c->b, ref) < 0 ||
            PUTS(&c->b, ",\"to\":") < 0 || put_label(c, peer_obj) < 0 ||
            PUTS(&c->b, ",\"message\":") < 0 || put_text(c, text) < 0 || PUTS(&c->b, "}}") < 0) {
            goto done;
        }
        if (ref != NO_REF) {
            if (PyDict_SetItem(inflight, ref_obj, head) < 0) goto done;
            if (put_flow(c, "\"s\"", ref, w, ts) < 0) goto done;
        }
    } else {
        if (kind == K_EXIT || kind == K_CRASH) {
            if (dict_pop(handler, pid_obj, &run) < 0) goto done;
            if (run != NULL) {
                if (PyDict_SetItem(last, pid_obj, ts_obj) < 0) goto done;
                if (close_run(c, pid_obj, w, run, last) < 0) goto done;
            }
        } else if (kind == K_DROP) {
            if (dict_pop(inflight, ref_obj, &what) < 0) goto done;
        }
        if (sep(c) < 0 || PUTS(&c->b, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":") < 0 ||
            put_str(&c->b, PyList_GET_ITEM(c->cats, kind)) < 0 || PUTS(&c->b, ",\"name\":") < 0) {
            goto done;
        }
        int named = (kind == K_STATE || kind == K_RESTART) && head != Py_None;
        if (named && !PyUnicode_Check(head)) {
            PyErr_SetString(PyExc_TypeError, "trace_events: a head must be a str or None");
            goto done;
        }
        if (named ? put_quoted(c, kind == K_STATE ? "state (" : "restart ", head,
                               kind == K_STATE ? ")" : "")
                  : put_quoted(c, "", PyList_GET_ITEM(c->kind_names, kind), "")) {
            goto done;
        }
        if (buf_byte(&c->b, ',') < 0 || put_str(&c->b, w) < 0 || PUTS(&c->b, ",\"ts\":") < 0 ||
            put_us(c, ts, c->t0) < 0 || PUTS(&c->b, ",\"args\":{\"seq\":") < 0 ||
            put_i64(&c->b, seq) < 0 || PUTS(&c->b, ",\"peer\":") < 0 ||
            put_label(c, peer_obj) < 0 || PUTS(&c->b, ",\"data\":") < 0 ||
            put_text(c, text) < 0 || PUTS(&c->b, "}}") < 0) {
            goto done;
        }
    }
    if (PyDict_SetItem(last, pid_obj, ts_obj) < 0) goto done;
    rc = 0;
done:
    Py_XDECREF(w);
    Py_XDECREF(pid_obj);
    Py_XDECREF(ts_obj);
    Py_XDECREF(ref_obj);
    Py_XDECREF(peer_obj);
    Py_XDECREF(run);
    Py_XDECREF(name);
    Py_XDECREF(what);
    return rc;
}

PyDoc_STRVAR(trace_events_doc,
"trace_events(seq, ts, kind, pid, peer, ref, texts, heads, t0, inflight, handler, last_ts,\n"
"             where, where_fn, labels, label_fn, quote, cats, kind_names) -> bytes\n"
"\n"
"The trace events of one chunk (columns: int64 seq, ts, ref; uint8 kind; uint32 pid, peer),\n"
"joined by ',\\n' as UTF-8: chrome.py's reference loop, byte for byte. texts: each event's\n"
"payload JSON text ('' for none; any value for a RECEIVE); heads: a SEND's message type, a\n"
"STATE's trigger or RESTART's child id text (None: the kind's name). inflight, handler and\n"
"last_ts are the loop's dicts, updated in place; where / labels cache a process's track and\n"
"quoted label, where_fn / label_fn give them on a miss; quote is json.dumps; cats and\n"
"kind_names: for each of the 256 kinds its quoted category and its name.");

PyObject *cinema_trace_events(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 19) {
        PyErr_SetString(PyExc_TypeError, "trace_events takes 19 arguments");
        return NULL;
    }
    PyObject *texts = args[6], *heads = args[7];
    if (!PyList_Check(texts) || !PyList_Check(heads) || !PyDict_Check(args[9]) ||
        !PyDict_Check(args[10]) || !PyDict_Check(args[11]) || !PyDict_Check(args[12]) ||
        !PyDict_Check(args[14]) || !PyList_Check(args[17]) || !PyList_Check(args[18]) ||
        PyList_GET_SIZE(args[17]) != 256 || PyList_GET_SIZE(args[18]) != 256) {
        PyErr_SetString(PyExc_TypeError, "trace_events: bad arguments (see its docstring)");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < 256; k++) {
        if (!PyUnicode_Check(PyList_GET_ITEM(args[17], k)) ||
            !PyUnicode_Check(PyList_GET_ITEM(args[18], k))) {
            PyErr_SetString(PyExc_TypeError, "trace_events: cats and kind_names hold str");
            return NULL;
        }
    }
    Py_ssize_t n = PyList_GET_SIZE(texts);
    if (PyList_GET_SIZE(heads) != n) {
        PyErr_SetString(PyExc_ValueError, "trace_events: texts and heads differ in length");
        return NULL;
    }
    Ctx c;
    buf_init(&c.b, NULL, 0);
    c.t0 = PyLong_AsLongLong(args[8]);
    if (c.t0 == -1 && PyErr_Occurred()) return NULL;
    c.where = args[12];
    c.where_fn = args[13];
    c.labels = args[14];
    c.label_fn = args[15];
    c.quote = args[16];
    c.cats = args[17];
    c.kind_names = args[18];
    c.items = 0;
    Py_buffer bs, bt, bk, bp, bq, br;
    int got = 0;
    PyObject *out = NULL;
    if (get_buffer(args[0], &bs, 8, n, "seq") < 0) goto done;
    got = 1;
    if (get_buffer(args[1], &bt, 8, n, "ts") < 0) goto done;
    got = 2;
    if (get_buffer(args[2], &bk, 1, n, "kind") < 0) goto done;
    got = 3;
    if (get_buffer(args[3], &bp, 4, n, "pid") < 0) goto done;
    got = 4;
    if (get_buffer(args[4], &bq, 4, n, "peer") < 0) goto done;
    got = 5;
    if (get_buffer(args[5], &br, 8, n, "ref") < 0) goto done;
    got = 6;
    const int64_t *seq = bs.buf, *ts = bt.buf, *ref = br.buf;
    const uint8_t *kind = bk.buf;
    const uint32_t *pid = bp.buf, *peer = bq.buf;
    if (buf_reserve(&c.b, n * 200) < 0) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (one_event(&c, seq[i], ts[i], kind[i], pid[i], peer[i], ref[i],
                      PyList_GET_ITEM(texts, i), PyList_GET_ITEM(heads, i), args[9], args[10],
                      args[11]) < 0) {
            goto done;
        }
    }
    out = PyBytes_FromStringAndSize(c.b.data, c.b.len);
done:
    if (got >= 6) PyBuffer_Release(&br);
    if (got >= 5) PyBuffer_Release(&bq);
    if (got >= 4) PyBuffer_Release(&bp);
    if (got >= 3) PyBuffer_Release(&bk);
    if (got >= 2) PyBuffer_Release(&bt);
    if (got >= 1) PyBuffer_Release(&bs);
    buf_free(&c.b);
    return out;
}

const char *cinema_trace_events_doc = trace_events_doc;
