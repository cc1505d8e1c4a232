/* The native payload encoder. Twin of recorder/payload/_walk.py: every rule there has its
 * counterpart here, step for step, so that both write the same bytes for every value; the
 * differential tests in tests/recorder/payload check it. Read the Python module first.
 *
 * Safety: every write goes through buffer.h (bounds-checked); user code runs only where the
 * Python version runs it (repr, object.__getattribute__ of fields, enum members and
 * __dict__, int to text), and any Exception it raises becomes a marker; other BaseExceptions
 * propagate. Entries of containers are copied (with references) before any of them is
 * written, so user code that mutates a container while it is encoded cannot invalidate what
 * the encoder reads. The GIL is held throughout (user code may release it).
 */
#include "encoder.h"

CinemaState cinema_state;

enum {
    EXT_TUPLE = 1,
    EXT_SET = 2,
    EXT_FROZENSET = 3,
    EXT_RECORD = 4,
    EXT_ENUM = 5,
    EXT_PID = 6,
    EXT_REF = 7,
    EXT_OPAQUE = 8,
    EXT_TRUNCATED = 9,
    EXT_BIGINT = 10,
};

enum { ST_OPEN, ST_DONE, ST_OPAQUE };

/* ------------------------------------------------------------------ identity tables */

typedef struct {
    void *key;     /* object identity; NULL = empty slot */
    PyObject *ref; /* strong reference: keeps the id from being reused */
    int state;
    PyObject *a; /* seen: cached opaque bytes; names: the name (str) */
    PyObject *b; /* names: the encoded name (bytes) */
} Slot;

typedef struct {
    Slot *slots;
    Py_ssize_t mask;
    Py_ssize_t used;
    Slot inline_slots[8];
} Table;

/* Tables start empty with no slots at all: most values never track anything, so the inline
 * slots are cleared only on the first insertion. */
static void table_init(Table *tb) {
    tb->slots = NULL;
    tb->mask = -1;
    tb->used = 0;
}

static void table_free(Table *tb) {
    if (tb->slots == NULL) {
        return;
    }
    for (Py_ssize_t i = 0; i <= tb->mask; i++) {
        Slot *s = &tb->slots[i];
        if (s->key != NULL) {
            Py_XDECREF(s->ref);
            Py_XDECREF(s->a);
            Py_XDECREF(s->b);
        }
    }
    if (tb->slots != tb->inline_slots) {
        PyMem_Free(tb->slots);
    }
    table_init(tb);
}

static inline Py_ssize_t table_hash(void *key) {
    uintptr_t h = (uintptr_t)key;
    h ^= h >> 4;
    h *= (uintptr_t)0x9E3779B97F4A7C15ULL;
    return (Py_ssize_t)(h >> 7);
}

static Slot *table_find(Table *tb, void *key) {
    if (tb->used == 0) {
        return NULL;
    }
    Py_ssize_t i = table_hash(key) & tb->mask;
    while (tb->slots[i].key != NULL) {
        if (tb->slots[i].key == key) {
            return &tb->slots[i];
        }
        i = (i + 1) & tb->mask;
    }
    return NULL;
}

/* A new slot for `key` (not present), holding a reference to `ref`; NULL on MemoryError. */
static Slot *table_add(Table *tb, void *key, PyObject *ref) {
    if (tb->slots == NULL) {
        memset(tb->inline_slots, 0, sizeof(tb->inline_slots));
        tb->slots = tb->inline_slots;
        tb->mask = 7;
    }
    if ((tb->used + 1) * 2 > tb->mask + 1) {
        Py_ssize_t size = (tb->mask + 1) * 4;
        Slot *fresh = (Slot *)PyMem_Calloc((size_t)size, sizeof(Slot));
        if (fresh == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        for (Py_ssize_t i = 0; i <= tb->mask; i++) {
            Slot *s = &tb->slots[i];
            if (s->key != NULL) {
                Py_ssize_t j = table_hash(s->key) & (size - 1);
                while (fresh[j].key != NULL) {
                    j = (j + 1) & (size - 1);
                }
                fresh[j] = *s;
            }
        }
        if (tb->slots != tb->inline_slots) {
            PyMem_Free(tb->slots);
        }
        tb->slots = fresh;
        tb->mask = size - 1;
    }
    Py_ssize_t i = table_hash(key) & tb->mask;
    while (tb->slots[i].key != NULL) {
        i = (i + 1) & tb->mask;
    }
    Slot *s = &tb->slots[i];
    s->key = key;
    Py_INCREF(ref);
    s->ref = ref;
    s->state = ST_OPEN;
    s->a = NULL;
    s->b = NULL;
    tb->used++;
    return s;
}

/* ------------------------------------------------------------------ snapshots */

/* Entries of a container, copied with references before any is written. */
typedef struct {
    PyObject **items;
    Py_ssize_t n;
    PyObject *inline_items[16];
} Snap;

static int snap_init(Snap *s, Py_ssize_t cap) {
    s->n = 0;
    if (cap <= 16) {
        s->items = s->inline_items;
        return 0;
    }
    if ((size_t)cap > PY_SSIZE_T_MAX / sizeof(PyObject *)) {
        PyErr_NoMemory();
        return -1;
    }
    s->items = (PyObject **)PyMem_Malloc((size_t)cap * sizeof(PyObject *));
    if (s->items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static inline void snap_push(Snap *s, PyObject *o) { /* capacity checked by the caller */
    Py_INCREF(o);
    s->items[s->n++] = o;
}

static void snap_free(Snap *s) {
    for (Py_ssize_t i = 0; i < s->n; i++) {
        Py_DECREF(s->items[i]);
    }
    if (s->items != s->inline_items) {
        PyMem_Free(s->items);
    }
    s->items = s->inline_items;
    s->n = 0;
}

/* ------------------------------------------------------------------ encoder state */

typedef struct {
    Buf *out;
    Py_ssize_t base; /* where this value starts in out: the budget counts from here */
    CinemaLimits lim;
    Py_ssize_t nodes;
    Table seen;  /* tracked containers and opaque objects */
    Table names; /* type -> display name */
} Enc;

#define USED(E) ((E)->out->len - (E)->base)

static int enc_node(Enc *E, PyObject *v, Py_ssize_t depth, int key);

/* ------------------------------------------------------------------ msgpack writers */

static inline int put_byte(Enc *E, unsigned char c) { return buf_byte(E->out, c); }

static inline int put_raw(Enc *E, const void *p, Py_ssize_t n) { return buf_put(E->out, p, n); }

static int int_bytes_signed(unsigned char *p, long long d) {
    if (d < -(1LL << 5)) {
        if (d < -(1LL << 15)) {
            if (d < -(1LL << 31)) {
                p[0] = 0xd3;
                put_be64(p + 1, (uint64_t)d);
                return 9;
            }
            p[0] = 0xd2;
            put_be32(p + 1, (uint32_t)(int32_t)d);
            return 5;
        }
        if (d < -(1LL << 7)) {
            p[0] = 0xd1;
            put_be16(p + 1, (uint16_t)(int16_t)d);
            return 3;
        }
        p[0] = 0xd0;
        p[1] = (unsigned char)(int8_t)d;
        return 2;
    }
    if (d < 0) {
        p[0] = (unsigned char)(int8_t)d; /* negative fixint */
        return 1;
    }
    uint64_t u = (uint64_t)d;
    if (u < 128) {
        p[0] = (unsigned char)u;
        return 1;
    }
    if (u < 0x100) {
        p[0] = 0xcc;
        p[1] = (unsigned char)u;
        return 2;
    }
    if (u < 0x10000) {
        p[0] = 0xcd;
        put_be16(p + 1, (uint16_t)u);
        return 3;
    }
    if (u < 0x100000000ULL) {
        p[0] = 0xce;
        put_be32(p + 1, (uint32_t)u);
        return 5;
    }
    p[0] = 0xcf;
    put_be64(p + 1, u);
    return 9;
}

static int int_bytes_unsigned(unsigned char *p, unsigned long long u) {
    if (u <= (unsigned long long)LLONG_MAX) {
        return int_bytes_signed(p, (long long)u);
    }
    p[0] = 0xcf;
    put_be64(p + 1, (uint64_t)u);
    return 9;
}

/* The msgpack int of an int object within [-2**63, 2**64): 1 and its length in p; 0 if out
 * of that range; -1 on error. */
static int int_bytes_obj(unsigned char *p, PyObject *v, int *len) {
    int overflow = 0;
    long long d = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (d == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow == 0) {
        *len = int_bytes_signed(p, d);
        return 1;
    }
    if (overflow < 0) {
        return 0;
    }
    unsigned long long u = PyLong_AsUnsignedLongLong(v);
    if (u == (unsigned long long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    *len = int_bytes_unsigned(p, u);
    return 1;
}

static int put_cint(Enc *E, long long d) {
    unsigned char p[9];
    return put_raw(E, p, int_bytes_signed(p, d));
}

static Py_ssize_t arr_hdr(unsigned char *p, Py_ssize_t n) {
    if (n < 16) {
        p[0] = (unsigned char)(0x90 | n);
        return 1;
    }
    if (n < 0x10000) {
        p[0] = 0xdc;
        put_be16(p + 1, (uint16_t)n);
        return 3;
    }
    p[0] = 0xdd;
    put_be32(p + 1, (uint32_t)n);
    return 5;
}

static Py_ssize_t map_hdr(unsigned char *p, Py_ssize_t n) {
    if (n < 16) {
        p[0] = (unsigned char)(0x80 | n);
        return 1;
    }
    if (n < 0x10000) {
        p[0] = 0xde;
        put_be16(p + 1, (uint16_t)n);
        return 3;
    }
    p[0] = 0xdf;
    put_be32(p + 1, (uint32_t)n);
    return 5;
}

static Py_ssize_t ext_hdr(unsigned char *p, int code, Py_ssize_t n) {
    unsigned char c = (unsigned char)(code & 0xff);
    switch (n) {
    case 1: p[0] = 0xd4; p[1] = c; return 2;
    case 2: p[0] = 0xd5; p[1] = c; return 2;
    case 4: p[0] = 0xd6; p[1] = c; return 2;
    case 8: p[0] = 0xd7; p[1] = c; return 2;
    case 16: p[0] = 0xd8; p[1] = c; return 2;
    default: break;
    }
    if (n < 0x100) {
        p[0] = 0xc7;
        p[1] = (unsigned char)n;
        p[2] = c;
        return 3;
    }
    if (n < 0x10000) {
        p[0] = 0xc8;
        put_be16(p + 1, (uint16_t)n);
        p[3] = c;
        return 4;
    }
    p[0] = 0xc9;
    put_be32(p + 1, (uint32_t)n);
    p[5] = c;
    return 6;
}

static int put_str_bytes(Enc *E, const char *s, Py_ssize_t n) {
    unsigned char h[5];
    Py_ssize_t hl;
    if (n < 32) {
        h[0] = (unsigned char)(0xa0 | n);
        hl = 1;
    } else if (n < 0x100) {
        h[0] = 0xd9;
        h[1] = (unsigned char)n;
        hl = 2;
    } else if (n < 0x10000) {
        h[0] = 0xda;
        put_be16(h + 1, (uint16_t)n);
        hl = 3;
    } else if ((size_t)n <= 0xffffffffULL) {
        h[0] = 0xdb;
        put_be32(h + 1, (uint32_t)n);
        hl = 5;
    } else {
        PyErr_SetString(PyExc_ValueError, "unicode string is too large");
        return -1;
    }
    if (buf_reserve(E->out, hl + n) < 0) {
        return -1;
    }
    put_raw(E, h, hl);
    return put_raw(E, s, n);
}

static int put_bin(Enc *E, const char *s, Py_ssize_t n) {
    unsigned char h[5];
    Py_ssize_t hl;
    if (n < 0x100) {
        h[0] = 0xc4;
        h[1] = (unsigned char)n;
        hl = 2;
    } else if (n < 0x10000) {
        h[0] = 0xc5;
        put_be16(h + 1, (uint16_t)n);
        hl = 3;
    } else if ((size_t)n <= 0xffffffffULL) {
        h[0] = 0xc6;
        put_be32(h + 1, (uint32_t)n);
        hl = 5;
    } else {
        PyErr_SetString(PyExc_ValueError, "bytes object is too large");
        return -1;
    }
    if (buf_reserve(E->out, hl + n) < 0) {
        return -1;
    }
    put_raw(E, h, hl);
    return put_raw(E, s, n);
}

/* A str (or subclass instance: its own data is read) as msgpack; characters UTF-8 cannot
 * hold (lone surrogates) become '?', one for one (_walk._text). */
static int put_text(Enc *E, PyObject *s) {
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(s, &n);
    if (p != NULL) {
        return put_str_bytes(E, p, n);
    }
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        return -1;
    }
    PyErr_Clear();
    PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "replace");
    if (b == NULL) {
        return -1;
    }
    int r = put_str_bytes(E, PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b));
    Py_DECREF(b);
    return r;
}

static int put_ascii(Enc *E, const char *s) { return put_str_bytes(E, s, (Py_ssize_t)strlen(s)); }

static int put_double(Enc *E, double d) {
    unsigned char p[9];
    uint64_t u;
    memcpy(&u, &d, 8);
    p[0] = 0xcb;
    put_be64(p + 1, u);
    return put_raw(E, p, 9);
}

/* Wrap everything written since `start` into extension `code`. */
static int ext_close(Enc *E, int code, Py_ssize_t start) {
    unsigned char h[6];
    Py_ssize_t hl = ext_hdr(h, code, E->out->len - start);
    return buf_insert(E->out, start, h, hl);
}

/* ------------------------------------------------------------------ per-type layouts */

/* What the encoder learns about a type once instead of for every value (issue 13: a GenServer
 * whose state is a dataclass freezes it at every STATE event): its display name and, for a
 * dataclass, which entries of its __dataclass_fields__ are real fields. An entry holds the
 * type (its address cannot be reused) and is valid while the type's version tag is unchanged:
 * setting any attribute of a type, __module__, __qualname__ and __dataclass_fields__ included,
 * gives it a new tag. The field names are also checked against the fields dict itself (same
 * dict, same keys and Field objects, in order), so a dict changed in place is read again. A
 * small direct-mapped table: a miss only costs what every value cost before. */
#define LAYOUTS 64

typedef struct {
    PyTypeObject *t; /* strong reference; NULL = empty */
    unsigned int version;
    Py_ssize_t max_repr; /* the limit the name was cut to */
    PyObject *name;      /* the display name (str), or NULL */
    PyObject *name_enc;  /* its encoding (bytes) */
    PyObject *fields;    /* the __dataclass_fields__ dict the names were read from, or NULL */
    PyObject *items;     /* tuple: that dict's keys and values, flattened, in order */
    PyObject *names;     /* tuple: its real field names, in order */
} Layout;

static Layout layouts[LAYOUTS];

static void layout_clear_fields(Layout *L) {
    Py_CLEAR(L->fields);
    Py_CLEAR(L->items);
    Py_CLEAR(L->names);
}

/* The layout entry of t, emptied first if it held another type or an older version of t;
 * NULL when t has no valid version tag (then nothing is cached for it). */
static Layout *layout_of(PyTypeObject *t) {
    if (!PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) || t->tp_version_tag == 0) {
        return NULL;
    }
    Layout *L = &layouts[table_hash(t) & (LAYOUTS - 1)];
    if (L->t == t && L->version == t->tp_version_tag) {
        return L;
    }
    PyTypeObject *old = L->t;
    Py_INCREF(t);
    L->t = t;
    L->version = t->tp_version_tag;
    Py_CLEAR(L->name);
    Py_CLEAR(L->name_enc);
    layout_clear_fields(L);
    Py_XDECREF(old); /* last: the entry is consistent whatever freeing the old type runs */
    return L;
}

/* ------------------------------------------------------------------ names and notes */

/* The display name of type t (module.qualname; no module for builtins and __main__; at most
 * max_repr characters): a slot of the names table holding the str (a) and its encoding (b). */
static Slot *name_of(Enc *E, PyTypeObject *t) {
    CinemaState *S = &cinema_state;
    Slot *hit = table_find(&E->names, t);
    if (hit != NULL) {
        return hit;
    }
    Layout *L = layout_of(t);
    if (L != NULL && L->name != NULL && L->max_repr == E->lim.max_repr) {
        Slot *s = table_add(&E->names, t, (PyObject *)t);
        if (s == NULL) {
            return NULL;
        }
        Py_INCREF(L->name);
        s->a = L->name;
        Py_INCREF(L->name_enc);
        s->b = L->name_enc;
        return s;
    }
    descrgetfunc get = Py_TYPE(S->descr_module)->tp_descr_get;
    PyObject *mod = get(S->descr_module, (PyObject *)t, (PyObject *)&PyType_Type);
    if (mod == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            return NULL;
        }
        PyErr_Clear();
    }
    get = Py_TYPE(S->descr_qualname)->tp_descr_get;
    PyObject *qual = get(S->descr_qualname, (PyObject *)t, (PyObject *)&PyType_Type);
    if (qual == NULL) {
        Py_XDECREF(mod);
        return NULL;
    }
    PyObject *name;
    int plain = mod == NULL || !PyUnicode_CheckExact(mod);
    if (!plain) {
        int r = PyUnicode_Compare(mod, S->s_builtins) == 0 || PyUnicode_Compare(mod, S->s_main) == 0 ||
                PyUnicode_GET_LENGTH(mod) == 0;
        plain = r;
    }
    if (plain) {
        name = qual;
        Py_INCREF(name);
    } else {
        name = PyUnicode_FromFormat("%U.%U", mod, qual);
    }
    Py_XDECREF(mod);
    Py_DECREF(qual);
    if (name == NULL) {
        return NULL;
    }
    PyObject *cut = PyUnicode_Substring(name, 0, E->lim.max_repr);
    Py_DECREF(name);
    if (cut == NULL) {
        return NULL;
    }
    /* encode it once */
    Buf tmp;
    char mem[128];
    buf_init(&tmp, mem, sizeof(mem));
    Buf *saved = E->out;
    E->out = &tmp;
    int r = put_text(E, cut);
    E->out = saved;
    PyObject *enc = r < 0 ? NULL : PyBytes_FromStringAndSize(tmp.data, tmp.len);
    buf_free(&tmp);
    if (enc == NULL) {
        Py_DECREF(cut);
        return NULL;
    }
    Slot *s = table_add(&E->names, t, (PyObject *)t);
    if (s == NULL) {
        Py_DECREF(cut);
        Py_DECREF(enc);
        return NULL;
    }
    s->a = cut;
    s->b = enc;
    L = layout_of(t); /* again: nothing above runs user code, but this keeps it obvious */
    if (L != NULL) {
        Py_INCREF(cut);
        Py_XSETREF(L->name, cut);
        Py_INCREF(enc);
        Py_XSETREF(L->name_enc, enc);
        L->max_repr = E->lim.max_repr;
    }
    return s;
}

static int put_tname(Enc *E, PyTypeObject *t) {
    Slot *s = name_of(E, t);
    if (s == NULL) {
        return -1;
    }
    return put_raw(E, PyBytes_AS_STRING(s->b), PyBytes_GET_SIZE(s->b));
}

/* The pending Exception (already known to be one) as Opaque(type name of t, "<name (what
 * failed: exc type)>"), where what is `what`, or "field <field>" when field is not NULL. The
 * exception is taken first: no Python API runs while it is pending. */
static int put_failed(Enc *E, PyTypeObject *t, const char *what, PyObject *field) {
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    if (et == NULL) {
        PyErr_SetString(PyExc_SystemError, "cinema encoder: no exception to describe");
        return -1;
    }
    PyErr_NormalizeException(&et, &ev, &tb);
    PyTypeObject *exc_type = ev != NULL ? Py_TYPE(ev) : (PyTypeObject *)et;
    Py_INCREF(exc_type);
    Py_XDECREF(et);
    Py_XDECREF(ev);
    Py_XDECREF(tb);
    int r = -1;
    PyObject *whats = NULL, *note = NULL, *cut = NULL, *tname = NULL;
    whats = field != NULL ? PyUnicode_FromFormat("field %U", field) : PyUnicode_FromString(what);
    if (whats == NULL) {
        goto done;
    }
    Slot *tn = name_of(E, t);
    if (tn == NULL) {
        goto done;
    }
    tname = tn->a;
    Py_INCREF(tname); /* the table may grow (and move) when the next name is added */
    Slot *en = name_of(E, exc_type);
    if (en == NULL) {
        goto done;
    }
    note = PyUnicode_FromFormat("<%U (%U failed: %U)>", tname, whats, en->a);
    if (note == NULL) {
        goto done;
    }
    cut = PyUnicode_Substring(note, 0, E->lim.max_repr);
    if (cut == NULL) {
        goto done;
    }
    Py_ssize_t start = E->out->len;
    if (put_byte(E, 0x92) < 0 || put_tname(E, t) < 0 || put_text(E, cut) < 0 ||
        ext_close(E, EXT_OPAQUE, start) < 0) {
        goto done;
    }
    r = 0;
done:
    Py_DECREF(exc_type);
    Py_XDECREF(whats);
    Py_XDECREF(tname);
    Py_XDECREF(note);
    Py_XDECREF(cut);
    return r;
}

/* If an Exception is pending: 1 (it stays pending for put_failed / clearing); if another
 * BaseException: -1 (propagate). */
static inline int user_error(void) { return PyErr_ExceptionMatches(PyExc_Exception) ? 1 : -1; }

/* ------------------------------------------------------------------ markers */

/* Truncated(what, size, preview) where the caller writes the preview after this returns its
 * start (then ext_close(E, EXT_TRUNCATED, start)). */
static Py_ssize_t marker_open(Enc *E, const char *what, Py_ssize_t size) {
    Py_ssize_t start = E->out->len;
    if (put_byte(E, 0x93) < 0 || put_ascii(E, what) < 0 || put_cint(E, (long long)size) < 0) {
        return -1;
    }
    return start;
}

static int put_marker(Enc *E, const char *what, Py_ssize_t size) {
    Py_ssize_t start = marker_open(E, what, size);
    if (start < 0 || put_byte(E, 0xc0) < 0) {
        return -1;
    }
    return ext_close(E, EXT_TRUNCATED, start);
}

static int put_marker_tname(Enc *E, const char *what, Py_ssize_t size, PyTypeObject *t) {
    Py_ssize_t start = marker_open(E, what, size);
    if (start < 0 || put_tname(E, t) < 0) {
        return -1;
    }
    return ext_close(E, EXT_TRUNCATED, start);
}

static inline int is_marker(PyObject *v) {
    if (Py_TYPE(v) != cinema_state.ext_type || PyTuple_GET_SIZE(v) != 2) {
        return 0;
    }
    PyObject *code = PyTuple_GET_ITEM(v, 0);
    if (!PyLong_CheckExact(code) || !PyBytes_CheckExact(PyTuple_GET_ITEM(v, 1))) {
        return 0;
    }
    int overflow = 0;
    long c = PyLong_AsLongAndOverflow(code, &overflow);
    return overflow == 0 && c == EXT_TRUNCATED;
}

/* ------------------------------------------------------------------ leaves */

/* str s is n characters long; if it is over max_str, a marker with the first max_str. */
static int w_str(Enc *E, PyObject *s, Py_ssize_t n) {
    if (n <= E->lim.max_str) {
        return put_text(E, s);
    }
    PyObject *head = PyUnicode_Substring(s, 0, E->lim.max_str);
    if (head == NULL) {
        return -1;
    }
    Py_ssize_t start = marker_open(E, "str", n);
    int r = start < 0 || put_text(E, head) < 0 ? -1 : ext_close(E, EXT_TRUNCATED, start);
    Py_DECREF(head);
    return r;
}

static int w_bytes(Enc *E, const char *p, Py_ssize_t n) {
    if (n <= E->lim.max_str) {
        return put_bin(E, p, n);
    }
    Py_ssize_t start = marker_open(E, "bytes", n);
    if (start < 0 || put_bin(E, p, E->lim.max_str) < 0) {
        return -1;
    }
    return ext_close(E, EXT_TRUNCATED, start);
}

/* An int (exact or subclass instance: its value is read, no method called). */
static int w_int(Enc *E, PyObject *v) {
    unsigned char p[9];
    int len = 0;
    int r = int_bytes_obj(p, v, &len);
    if (r < 0) {
        return -1;
    }
    if (r == 1) {
        return put_raw(E, p, len);
    }
    size_t bits = _PyLong_NumBits(v);
    if (bits == (size_t)-1 && PyErr_Occurred()) {
        return -1;
    }
    if ((Py_ssize_t)bits <= cinema_state.bigint_max_bits) {
        PyObject *text = PyLong_Type.tp_repr(v);
        if (text == NULL) {
            if (user_error() < 0) {
                return -1;
            }
            PyErr_Clear(); /* the interpreter's int_max_str_digits may be set lower */
        } else if (PyUnicode_GET_LENGTH(text) <= E->lim.max_str) {
            Py_ssize_t start = E->out->len;
            r = put_text(E, text) < 0 ? -1 : ext_close(E, EXT_BIGINT, start);
            Py_DECREF(text);
            return r;
        } else {
            Py_DECREF(text);
        }
    }
    char note[64];
    snprintf(note, sizeof(note), "<int of %zu bits>", bits);
    Py_ssize_t start = E->out->len;
    if (put_byte(E, 0x92) < 0 || put_ascii(E, "int") < 0 || put_ascii(E, note) < 0) {
        return -1;
    }
    return ext_close(E, EXT_OPAQUE, start);
}

/* The pointer to the object slot at `off` of v (Pid.n, Ref.n, Packed.data); may be NULL. */
static inline PyObject *slot_at(PyObject *v, Py_ssize_t off) {
    return *(PyObject **)((char *)v + off);
}

/* 1 if a cycle / shared marker was written for v (a tracked object met before), 0 if not. */
static int seen_marker(Enc *E, PyObject *v, PyTypeObject *t, Py_ssize_t size) {
    Slot *s = table_find(&E->seen, v);
    if (s == NULL) {
        return 0;
    }
    const char *what = s->state == ST_OPEN ? "cycle" : "shared";
    return put_marker_tname(E, what, size, t) < 0 ? -1 : 1;
}

static int w_bytearray(Enc *E, PyObject *v, PyTypeObject *t) {
    Py_ssize_t n = PyByteArray_GET_SIZE(v);
    int r = seen_marker(E, v, t, n);
    if (r != 0) {
        return r < 0 ? -1 : 0;
    }
    Slot *s = table_add(&E->seen, v, v);
    if (s == NULL) {
        return -1;
    }
    s->state = ST_DONE;
    /* copy first: the buffer of a bytearray may move when the output grows (it cannot: the
     * GIL is held and no user code runs here, but the copy keeps that argument out) */
    Py_ssize_t k = n <= E->lim.max_str ? n : E->lim.max_str;
    PyObject *head = PyBytes_FromStringAndSize(PyByteArray_AS_STRING(v), k);
    if (head == NULL) {
        return -1;
    }
    r = w_bytes(E, PyBytes_AS_STRING(head), n);
    Py_DECREF(head);
    return r;
}

/* Opaque(type name, repr), repr called once per object (cached in the seen table). */
static int w_opaque(Enc *E, PyObject *v, PyTypeObject *t) {
    Py_ssize_t start = E->out->len;
    PyObject *text = PyObject_Repr(v);
    if (text == NULL) {
        if (user_error() < 0) {
            return -1;
        }
        if (put_failed(E, t, "repr", NULL) < 0) {
            return -1;
        }
    } else {
        PyObject *cut = PyUnicode_Substring(text, 0, E->lim.max_repr);
        Py_DECREF(text);
        if (cut == NULL) {
            return -1;
        }
        int r = put_byte(E, 0x92) < 0 || put_tname(E, t) < 0 || put_text(E, cut) < 0 ? -1 : 0;
        Py_DECREF(cut);
        if (r < 0 || ext_close(E, EXT_OPAQUE, start) < 0) {
            return -1;
        }
    }
    PyObject *data = PyBytes_FromStringAndSize(E->out->data + start, E->out->len - start);
    if (data == NULL) {
        return -1;
    }
    Slot *s = table_find(&E->seen, v);
    if (s == NULL) {
        s = table_add(&E->seen, v, v);
        if (s == NULL) {
            Py_DECREF(data);
            return -1;
        }
    }
    Py_XSETREF(s->a, data);
    s->state = ST_OPAQUE;
    return 0;
}

/* ------------------------------------------------------------------ frames */

typedef struct {
    int ext;              /* extension code wrapping the container, or 0 */
    Py_ssize_t ext_start; /* where the ext body starts, or -1 */
    Py_ssize_t hpos;      /* where the array / map header is, or -1 */
    Py_ssize_t planned;   /* the entry count that header says */
    Py_ssize_t count;     /* entries written */
    int is_map;
    PyObject *obj; /* tracked object (the seen table holds it), or NULL */
    int sort_bytes;
    Py_ssize_t *segs; /* sort_bytes: where each member starts */
    Py_ssize_t nsegs, segs_cap;
    Py_ssize_t inline_segs[16];
} Frame;

static int frame_open(Enc *E, Frame *F, int ext, Py_ssize_t n, PyObject *obj, int is_map) {
    F->ext = ext;
    F->ext_start = -1;
    F->hpos = -1;
    F->count = 0;
    F->is_map = is_map;
    F->obj = NULL;
    F->sort_bytes = 0;
    F->segs = F->inline_segs;
    F->nsegs = 0;
    F->segs_cap = 16;
    if (obj != NULL) {
        if (table_add(&E->seen, obj, obj) == NULL) {
            return -1;
        }
        F->obj = obj;
    }
    if (ext) {
        F->ext_start = E->out->len;
    }
    F->planned = n <= E->lim.max_items ? n : E->lim.max_items;
    return 0;
}

static int frame_header(Enc *E, Frame *F) {
    unsigned char h[5];
    F->hpos = E->out->len;
    return put_raw(E, h, F->is_map ? map_hdr(h, F->planned) : arr_hdr(h, F->planned));
}

static void frame_release(Frame *F) {
    if (F->segs != F->inline_segs) {
        PyMem_Free(F->segs);
        F->segs = F->inline_segs;
    }
}

static int frame_seg(Frame *F, Py_ssize_t start) {
    if (F->nsegs == F->segs_cap) {
        Py_ssize_t cap = F->segs_cap * 2;
        Py_ssize_t *mem = (Py_ssize_t *)PyMem_Malloc((size_t)cap * sizeof(Py_ssize_t));
        if (mem == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(mem, F->segs, (size_t)F->nsegs * sizeof(Py_ssize_t));
        if (F->segs != F->inline_segs) {
            PyMem_Free(F->segs);
        }
        F->segs = mem;
        F->segs_cap = cap;
    }
    F->segs[F->nsegs++] = start;
    return 0;
}

typedef struct {
    const char *p;
    Py_ssize_t n;
} Piece;

static int piece_cmp(const void *a, const void *b) {
    const Piece *x = (const Piece *)a, *y = (const Piece *)b;
    Py_ssize_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, (size_t)m);
    if (c != 0) {
        return c;
    }
    return x->n < y->n ? -1 : (x->n > y->n ? 1 : 0);
}

/* Reorder the members written since segs[0] by their bytes (_walk: pieces.sort()). */
static int sort_segments(Enc *E, Frame *F) {
    Py_ssize_t k = F->nsegs;
    if (k < 2) {
        return 0;
    }
    Py_ssize_t start = F->segs[0], end = E->out->len;
    Piece *pieces = (Piece *)PyMem_Malloc((size_t)k * sizeof(Piece));
    char *copy = (char *)PyMem_Malloc((size_t)(end - start));
    if (pieces == NULL || copy == NULL) {
        PyMem_Free(pieces);
        PyMem_Free(copy);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(copy, E->out->data + start, (size_t)(end - start));
    for (Py_ssize_t i = 0; i < k; i++) {
        Py_ssize_t a = F->segs[i], b = i + 1 < k ? F->segs[i + 1] : end;
        pieces[i].p = copy + (a - start);
        pieces[i].n = b - a;
    }
    qsort(pieces, (size_t)k, sizeof(Piece), piece_cmp);
    char *w = E->out->data + start;
    for (Py_ssize_t i = 0; i < k; i++) {
        memcpy(w, pieces[i].p, (size_t)pieces[i].n);
        w += pieces[i].n;
    }
    PyMem_Free(pieces);
    PyMem_Free(copy);
    return 0;
}

/* Finish F: order set members, add the marker (what != NULL), fix the header, wrap the ext,
 * mark the object done (_walk._Encoder.close). */
static int frame_close(Enc *E, Frame *F, const char *what, Py_ssize_t size) {
    Py_ssize_t count = F->count;
    if (F->sort_bytes && sort_segments(E, F) < 0) {
        return -1;
    }
    if (what != NULL) {
        if (F->is_map && put_str_bytes(E, "\xe2\x80\xa6", 3) < 0) {
            return -1;
        }
        if (put_marker(E, what, size) < 0) {
            return -1;
        }
        count++;
    }
    if (F->hpos >= 0 && count != F->planned) {
        Py_ssize_t old = F->planned;
        Py_ssize_t old_size = old < 16 ? 1 : (old < 0x10000 ? 3 : 5);
        unsigned char h[5];
        Py_ssize_t hl = F->is_map ? map_hdr(h, count) : arr_hdr(h, count);
        if (buf_replace(E->out, F->hpos, old_size, h, hl) < 0) {
            return -1;
        }
    }
    if (F->ext_start >= 0 && ext_close(E, F->ext, F->ext_start) < 0) {
        return -1;
    }
    if (F->obj != NULL) {
        Slot *s = table_find(&E->seen, F->obj);
        if (s != NULL) {
            s->state = ST_DONE;
        }
    }
    return 0;
}

/* Before entry i of n: 1 if a budget is spent (writes the cut marker and closes F), 0 if the
 * entry may be written, -1 on error. `probe` is the entry (a map's value). */
static int budget_spent(Enc *E, Frame *F, PyObject *probe, Py_ssize_t i, Py_ssize_t n) {
    int bytes_out = USED(E) >= E->lim.max_bytes;
    if (probe != NULL && is_marker(probe)) {
        return 0;
    }
    return frame_close(E, F, bytes_out ? "size" : "nodes", n - i) < 0 ? -1 : 1;
}

static inline int budget_cut(Enc *E, Frame *F, PyObject *probe, Py_ssize_t i, Py_ssize_t n) {
    if (USED(E) < E->lim.max_bytes && E->nodes < E->lim.max_nodes) {
        return 0;
    }
    return budget_spent(E, F, probe, i, n);
}

/* ------------------------------------------------------------------ containers */

/* A list (tracked) or tuple, or an instance of a subclass of one. */
static int enc_seq(Enc *E, PyObject *v, PyTypeObject *t, int is_list, Py_ssize_t depth,
                   int key) {
    Py_ssize_t n = is_list ? PyList_GET_SIZE(v) : PyTuple_GET_SIZE(v);
    if (is_list) {
        int r = seen_marker(E, v, t, n);
        if (r != 0) {
            return r < 0 ? -1 : 0;
        }
    }
    if (depth >= E->lim.max_depth) {
        return put_marker_tname(E, "depth", n, t);
    }
    Py_ssize_t cap = E->lim.max_items;
    Py_ssize_t take = n <= cap ? n : cap - 1;
    /* A list's items are copied (user code run while they are written may change the list);
     * a tuple's are its own, kept alive by the reference the caller holds to the tuple. */
    Snap s;
    PyObject **items;
    s.items = s.inline_items;
    s.n = 0;
    if (is_list) {
        if (snap_init(&s, take) < 0) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < take; i++) {
            snap_push(&s, PyList_GET_ITEM(v, i));
        }
        items = s.items;
    } else {
        items = ((PyTupleObject *)v)->ob_item;
    }
    int ext = (!is_list || key) ? EXT_TUPLE : 0;
    Frame F;
    int r = -1;
    if (frame_open(E, &F, ext, n, is_list ? v : NULL, 0) < 0 || frame_header(E, &F) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < take; i++) {
        int cut = budget_cut(E, &F, items[i], i, n);
        if (cut != 0) {
            r = cut < 0 ? -1 : 0;
            goto done;
        }
        F.count++;
        if (enc_node(E, items[i], depth + 1, key) < 0) {
            goto done;
        }
    }
    r = frame_close(E, &F, n > cap ? "items" : NULL, n);
done:
    frame_release(&F);
    snap_free(&s);
    return r;
}

static int enc_dict(Enc *E, PyObject *v, PyTypeObject *t, Py_ssize_t depth, int key) {
    Py_ssize_t n = PyDict_GET_SIZE(v);
    int r = seen_marker(E, v, t, n);
    if (r != 0) {
        return r < 0 ? -1 : 0;
    }
    if (depth >= E->lim.max_depth) {
        return put_marker_tname(E, "depth", n, t);
    }
    Py_ssize_t cap = E->lim.max_items;
    Py_ssize_t take = n <= cap ? n : cap - 1;
    Snap s;
    if (snap_init(&s, 2 * take) < 0) {
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *k, *val;
    while (s.n < 2 * take && PyDict_Next(v, &pos, &k, &val)) {
        snap_push(&s, k);
        snap_push(&s, val);
    }
    Py_ssize_t got = s.n / 2;
    Frame F;
    r = -1;
    /* inside a map key or set member: a tuple of (key, value) tuples, so it stays hashable */
    if (frame_open(E, &F, key ? EXT_TUPLE : 0, n, v, !key) < 0 || frame_header(E, &F) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < got; i++) {
        PyObject *ki = s.items[2 * i], *vi = s.items[2 * i + 1];
        if (key) {
            PyObject *pair = PyTuple_Pack(2, ki, vi);
            if (pair == NULL) {
                goto done;
            }
            int cut = budget_cut(E, &F, pair, i, n);
            if (cut != 0) {
                Py_DECREF(pair);
                r = cut < 0 ? -1 : 0;
                goto done;
            }
            F.count++;
            int e = enc_node(E, pair, depth + 1, key);
            Py_DECREF(pair);
            if (e < 0) {
                goto done;
            }
            continue;
        }
        int cut = budget_cut(E, &F, vi, i, n);
        if (cut != 0) {
            r = cut < 0 ? -1 : 0;
            goto done;
        }
        F.count++;
        if (enc_node(E, ki, depth + 1, 1) < 0 || enc_node(E, vi, depth + 1, key) < 0) {
            goto done;
        }
    }
    r = frame_close(E, &F, n > cap ? "items" : NULL, n);
done:
    frame_release(&F);
    snap_free(&s);
    return r;
}

/* A set (tracked) or frozenset, or an instance of a subclass of one. */
static int enc_set(Enc *E, PyObject *v, PyTypeObject *t, int is_mutable, Py_ssize_t depth,
                   int key) {
    Py_ssize_t n = PySet_GET_SIZE(v);
    if (is_mutable) {
        int r = seen_marker(E, v, t, n);
        if (r != 0) {
            return r < 0 ? -1 : 0;
        }
    }
    if (depth >= E->lim.max_depth) {
        return put_marker_tname(E, "depth", n, t);
    }
    Py_ssize_t cap = E->lim.max_items;
    Py_ssize_t take = n <= cap ? n : cap - 1;
    Snap s;
    if (snap_init(&s, take) < 0) {
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *m;
    Py_hash_t hash;
    int all_str = 1, all_int = 1;
    while (s.n < take && _PySet_NextEntry(v, &pos, &m, &hash)) {
        snap_push(&s, m);
        all_str &= PyUnicode_CheckExact(m);
        all_int &= PyLong_CheckExact(m);
    }
    int natural = s.n > 0 && (all_str || all_int);
    int r = -1;
    Frame F;
    F.segs = F.inline_segs;
    if (natural) { /* exact str / int: their own order, which no user code can change */
        PyObject *list = PyList_New(s.n);
        if (list == NULL) {
            goto done;
        }
        for (Py_ssize_t i = 0; i < s.n; i++) {
            Py_INCREF(s.items[i]);
            PyList_SET_ITEM(list, i, s.items[i]);
        }
        if (PyList_Sort(list) < 0) {
            Py_DECREF(list);
            goto done;
        }
        for (Py_ssize_t i = 0; i < s.n; i++) {
            PyObject *x = PyList_GET_ITEM(list, i);
            Py_INCREF(x);
            Py_SETREF(s.items[i], x);
        }
        Py_DECREF(list);
    }
    int code = is_mutable && !key ? EXT_SET : EXT_FROZENSET;
    if (frame_open(E, &F, code, n, is_mutable ? v : NULL, 0) < 0) {
        goto done;
    }
    F.sort_bytes = !natural;
    if (frame_header(E, &F) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < s.n; i++) {
        int cut = budget_cut(E, &F, s.items[i], i, n);
        if (cut != 0) {
            r = cut < 0 ? -1 : 0;
            goto done;
        }
        F.count++;
        if (F.sort_bytes && frame_seg(&F, E->out->len) < 0) {
            goto done;
        }
        if (enc_node(E, s.items[i], depth + 1, 1) < 0) {
            goto done;
        }
    }
    r = frame_close(E, &F, n > cap ? "items" : NULL, n);
done:
    frame_release(&F);
    snap_free(&s);
    return r;
}

/* A field name of a record: exact str -> text (not a node), anything else -> a key node. */
static int w_field_name(Enc *E, PyObject *name, Py_ssize_t depth) {
    if (PyUnicode_CheckExact(name)) {
        return w_str(E, name, PyUnicode_GET_LENGTH(name));
    }
    return enc_node(E, name, depth + 1, 1);
}

enum { REC_PAIRS, REC_FIELDS };

/* A record: REC_FIELDS (a dataclass; s holds field names, each read when written) or
 * REC_PAIRS (named tuple, exception, plain object; s holds name, value, name, value...).
 * n is the number of fields; s holds at most max_items - 1 of them if n is over max_items.
 * obj is the tracked object or NULL. Takes over s. */
static int enc_record(Enc *E, PyObject *v, PyTypeObject *t, int kind, Snap *s, Py_ssize_t n,
                      Py_ssize_t depth, int key, PyObject *obj) {
    int r = -1;
    Frame F;
    F.segs = F.inline_segs;
    if (obj != NULL) {
        int m = seen_marker(E, v, t, 0);
        if (m != 0) {
            r = m < 0 ? -1 : 0;
            goto done;
        }
    }
    if (depth >= E->lim.max_depth) {
        r = put_marker_tname(E, "depth", 0, t);
        goto done;
    }
    Py_ssize_t cap = E->lim.max_items;
    Py_ssize_t stride = kind == REC_FIELDS ? 1 : 2;
    Py_ssize_t take = s->n / stride;
    if (n > cap && take > cap - 1) {
        take = cap - 1;
    }
    if (name_of(E, t) == NULL) {
        goto done;
    }
    if (frame_open(E, &F, EXT_RECORD, n, obj, 1) < 0 || put_byte(E, 0x92) < 0 ||
        put_tname(E, t) < 0 || frame_header(E, &F) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < take; i++) {
        PyObject *name = s->items[i * stride];
        PyObject *val = kind == REC_FIELDS ? NULL : s->items[i * stride + 1];
        int cut = budget_cut(E, &F, kind == REC_FIELDS ? name : val, i, n);
        if (cut != 0) {
            r = cut < 0 ? -1 : 0;
            goto done;
        }
        F.count++;
        if (w_field_name(E, name, depth) < 0) {
            goto done;
        }
        if (kind == REC_PAIRS) {
            if (enc_node(E, val, depth + 1, key) < 0) {
                goto done;
            }
            continue;
        }
        PyObject *got = PyObject_GenericGetAttr(v, name);
        if (got == NULL) {
            if (user_error() < 0) {
                goto done;
            }
            E->nodes++;
            if (put_failed(E, t, NULL, name) < 0) {
                goto done;
            }
            continue;
        }
        int e = enc_node(E, got, depth + 1, key);
        Py_DECREF(got);
        if (e < 0) {
            goto done;
        }
    }
    r = frame_close(E, &F, n > cap ? "items" : NULL, n);
done:
    frame_release(&F);
    snap_free(s);
    return r;
}

/* The first `take` (name, value) pairs of dict d, as a pairs snapshot. */
static int snap_dict_pairs(Snap *s, PyObject *d, Py_ssize_t take) {
    if (snap_init(s, 2 * take) < 0) {
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *k, *val;
    while (s->n < 2 * take && PyDict_Next(d, &pos, &k, &val)) {
        snap_push(s, k);
        snap_push(s, val);
    }
    return 0;
}

static int enc_enum(Enc *E, PyObject *v, PyTypeObject *t, Py_ssize_t depth, int key) {
    CinemaState *S = &cinema_state;
    if (depth >= E->lim.max_depth) {
        return put_marker_tname(E, "depth", 0, t);
    }
    PyObject *name = PyObject_GenericGetAttr(v, S->s_name_);
    PyObject *value = name == NULL ? NULL : PyObject_GenericGetAttr(v, S->s_value_);
    if (value == NULL) {
        int e = user_error();
        if (e > 0) {
            PyErr_Clear();
        }
        Py_XDECREF(name);
        return e < 0 ? -1 : w_opaque(E, v, t);
    }
    int r = -1;
    Py_ssize_t start = E->out->len;
    if (put_byte(E, 0x93) < 0 || put_tname(E, t) < 0) {
        goto done;
    }
    if (PyUnicode_CheckExact(name)) {
        PyObject *cut = PyUnicode_Substring(name, 0, E->lim.max_repr);
        if (cut == NULL) {
            goto done;
        }
        int e = put_text(E, cut);
        Py_DECREF(cut);
        if (e < 0) {
            goto done;
        }
    } else if (put_byte(E, 0xc0) < 0) {
        goto done;
    }
    if (enc_node(E, value, depth + 1, key) < 0) {
        goto done;
    }
    r = ext_close(E, EXT_ENUM, start);
done:
    Py_DECREF(name);
    Py_DECREF(value);
    return r;
}

/* Whether layout L holds the field names of exactly this fields dict (same keys and Field
 * objects, in the same order: reading them again would give the same names). */
static int layout_fields_valid(Layout *L, PyObject *fields) {
    if (L->fields != fields || PyTuple_GET_SIZE(L->items) != 2 * PyDict_GET_SIZE(fields)) {
        return 0;
    }
    Py_ssize_t pos = 0, i = 0;
    PyObject *k, *val;
    while (PyDict_Next(fields, &pos, &k, &val)) {
        if (PyTuple_GET_ITEM(L->items, i) != k || PyTuple_GET_ITEM(L->items, i + 1) != val) {
            return 0;
        }
        i += 2;
    }
    return 1;
}

/* Remember the real field names of t read from fields (whose flattened items are pairs). */
static int layout_store_fields(PyTypeObject *t, PyObject *fields, Snap *pairs, Snap *names) {
    Layout *L = layout_of(t);
    if (L == NULL) {
        return 0;
    }
    PyObject *items = PyTuple_New(pairs->n);
    PyObject *tup = items == NULL ? NULL : PyTuple_New(names->n);
    if (tup == NULL) {
        Py_XDECREF(items);
        return -1;
    }
    for (Py_ssize_t i = 0; i < pairs->n; i++) {
        Py_INCREF(pairs->items[i]);
        PyTuple_SET_ITEM(items, i, pairs->items[i]);
    }
    for (Py_ssize_t i = 0; i < names->n; i++) {
        Py_INCREF(names->items[i]);
        PyTuple_SET_ITEM(tup, i, names->items[i]);
    }
    layout_clear_fields(L);
    Py_INCREF(fields);
    L->fields = fields;
    L->items = items;
    L->names = tup;
    return 0;
}

static int enc_dataclass(Enc *E, PyObject *v, PyTypeObject *t, PyObject *fields,
                         Py_ssize_t depth, int key) {
    CinemaState *S = &cinema_state;
    Snap pairs, names;
    Layout *L = layout_of(t);
    if (L != NULL && L->fields != NULL && layout_fields_valid(L, fields)) {
        Py_ssize_t n = PyTuple_GET_SIZE(L->names);
        if (snap_init(&names, n) < 0) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            snap_push(&names, PyTuple_GET_ITEM(L->names, i));
        }
        return enc_record(E, v, t, REC_FIELDS, &names, names.n, depth, key, v);
    }
    /* copy the (name, Field) pairs first: reading a Field runs no user code, but a copy
     * keeps the iteration independent of what it might do */
    if (snap_dict_pairs(&pairs, fields, PyDict_GET_SIZE(fields)) < 0) {
        return -1;
    }
    if (snap_init(&names, pairs.n / 2) < 0) {
        snap_free(&pairs);
        return -1;
    }
    int clean = 1;
    for (Py_ssize_t i = 0; i < pairs.n; i += 2) {
        PyObject *name = pairs.items[i];
        if (!PyUnicode_CheckExact(name)) {
            continue;
        }
        PyObject *ft = PyObject_GenericGetAttr(pairs.items[i + 1], S->s_field_type);
        if (ft == NULL) {
            if (user_error() < 0) {
                snap_free(&pairs);
                snap_free(&names);
                return -1;
            }
            PyErr_Clear();
            clean = 0;
            continue;
        }
        int real = ft == S->field_marker;
        Py_DECREF(ft);
        if (real) {
            snap_push(&names, name);
        }
    }
    /* only a fields dict read whole and without an error is remembered */
    if (clean && PyDict_GET_SIZE(fields) * 2 == pairs.n &&
        layout_store_fields(t, fields, &pairs, &names) < 0) {
        snap_free(&pairs);
        snap_free(&names);
        return -1;
    }
    snap_free(&pairs);
    return enc_record(E, v, t, REC_FIELDS, &names, names.n, depth, key, v);
}

/* Everything that is not an exact builtin, Pid, Ref or Packed (_walk._Encoder.other). */
static int enc_other(Enc *E, PyObject *v, PyTypeObject *t, Py_ssize_t depth, int key) {
    CinemaState *S = &cinema_state;
    Slot *hit = table_find(&E->seen, v);
    if (hit != NULL && hit->state == ST_OPAQUE) {
        return put_raw(E, PyBytes_AS_STRING(hit->a), PyBytes_GET_SIZE(hit->a));
    }
    if (PyType_IsSubtype(t, S->enum_type)) {
        return enc_enum(E, v, t, depth, key);
    }
    PyObject *fields = _PyType_Lookup(t, S->s_dataclass_fields); /* borrowed */
    if (fields != NULL && PyDict_CheckExact(fields)) {
        Py_INCREF(fields);
        int r = enc_dataclass(E, v, t, fields, depth, key);
        Py_DECREF(fields);
        return r;
    }
    Snap s;
    if (PyType_IsSubtype(t, &PyTuple_Type)) {
        Py_ssize_t n = PyTuple_GET_SIZE(v);
        PyObject *names = _PyType_Lookup(t, S->s_fields);
        int named = names != NULL && PyTuple_CheckExact(names);
        for (Py_ssize_t i = 0; named && i < PyTuple_GET_SIZE(names); i++) {
            named = PyUnicode_CheckExact(PyTuple_GET_ITEM(names, i));
        }
        if (!named) {
            return enc_seq(E, v, t, 0, depth, key);
        }
        Py_INCREF(names);
        Py_ssize_t m = PyTuple_GET_SIZE(names) < n ? PyTuple_GET_SIZE(names) : n;
        if (snap_init(&s, 2 * m) < 0) {
            Py_DECREF(names);
            return -1;
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            snap_push(&s, PyTuple_GET_ITEM(names, i));
            snap_push(&s, PyTuple_GET_ITEM(v, i));
        }
        Py_DECREF(names);
        return enc_record(E, v, t, REC_PAIRS, &s, m, depth, key, NULL);
    }
    if (PyType_IsSubtype(t, (PyTypeObject *)PyExc_BaseException)) {
        PyObject *args = ((PyBaseExceptionObject *)v)->args;
        PyObject *name = PyUnicode_InternFromString("args");
        if (name == NULL || snap_init(&s, 2) < 0) {
            Py_XDECREF(name);
            return -1;
        }
        snap_push(&s, name);
        snap_push(&s, args != NULL ? args : Py_None);
        Py_DECREF(name);
        return enc_record(E, v, t, REC_PAIRS, &s, 1, depth, key, v);
    }
    if (PyType_IsSubtype(t, &PyLong_Type)) {
        return w_int(E, v);
    }
    if (PyType_IsSubtype(t, &PyFloat_Type)) {
        return put_double(E, PyFloat_AS_DOUBLE(v));
    }
    if (PyType_IsSubtype(t, &PyUnicode_Type)) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(v);
        if (n > E->lim.max_str) {
            return w_str(E, v, n);
        }
        PyObject *copy = PyUnicode_Substring(v, 0, n); /* an exact str, like str.__getitem__ */
        if (copy == NULL) {
            return -1;
        }
        int r = put_text(E, copy);
        Py_DECREF(copy);
        return r;
    }
    if (PyType_IsSubtype(t, &PyBytes_Type)) {
        return w_bytes(E, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    }
    if (PyType_IsSubtype(t, &PyByteArray_Type)) {
        return w_bytearray(E, v, t);
    }
    if (PyType_IsSubtype(t, &PyList_Type)) {
        return enc_seq(E, v, t, 1, depth, key);
    }
    if (PyType_IsSubtype(t, &PyDict_Type)) {
        return enc_dict(E, v, t, depth, key);
    }
    if (PyType_IsSubtype(t, &PySet_Type)) {
        return enc_set(E, v, t, 1, depth, key);
    }
    if (PyType_IsSubtype(t, &PyFrozenSet_Type)) {
        return enc_set(E, v, t, 0, depth, key);
    }
    if (PyType_HasFeature(t, Py_TPFLAGS_HEAPTYPE) && !PyCallable_Check(v)) {
        PyObject *d = PyObject_GenericGetAttr(v, S->s_dict);
        if (d == NULL) {
            if (user_error() < 0) {
                return -1;
            }
            PyErr_Clear();
        } else if (PyDict_CheckExact(d)) {
            Py_ssize_t n = PyDict_GET_SIZE(d);
            Py_ssize_t cap = E->lim.max_items;
            if (snap_dict_pairs(&s, d, n <= cap ? n : cap - 1) < 0) {
                Py_DECREF(d);
                return -1;
            }
            Py_DECREF(d);
            return enc_record(E, v, t, REC_PAIRS, &s, n, depth, key, v);
        } else {
            Py_DECREF(d);
        }
    }
    return w_opaque(E, v, t);
}

/* ------------------------------------------------------------------ dispatch */

static int enc_node(Enc *E, PyObject *v, Py_ssize_t depth, int key) {
    CinemaState *S = &cinema_state;
    PyTypeObject *t = Py_TYPE(v);
    E->nodes++;
    if (t == &PyUnicode_Type) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(v);
        return n > E->lim.max_str ? w_str(E, v, n) : put_text(E, v);
    }
    if (t == &PyLong_Type) {
        return w_int(E, v);
    }
    if (t == &PyFloat_Type) {
        return put_double(E, PyFloat_AS_DOUBLE(v));
    }
    if (v == Py_None) {
        return put_byte(E, 0xc0);
    }
    if (t == &PyBool_Type) {
        return put_byte(E, v == Py_True ? 0xc3 : 0xc2);
    }
    if (t == &PyTuple_Type) {
        return enc_seq(E, v, t, 0, depth, key);
    }
    if (t == &PyDict_Type) {
        return enc_dict(E, v, t, depth, key);
    }
    if (t == &PyList_Type) {
        return enc_seq(E, v, t, 1, depth, key);
    }
    if (t == S->pid_type || t == S->ref_type) {
        PyObject *n = slot_at(v, t == S->pid_type ? S->pid_off : S->ref_off);
        if (n != NULL && PyLong_CheckExact(n)) {
            unsigned char p[9];
            int len = 0;
            int r = int_bytes_obj(p, n, &len);
            if (r < 0) {
                return -1;
            }
            if (r == 1) {
                unsigned char h[3];
                Py_ssize_t hl = ext_hdr(h, t == S->pid_type ? EXT_PID : EXT_REF, len);
                if (put_raw(E, h, hl) < 0) {
                    return -1;
                }
                return put_raw(E, p, len);
            }
        }
        return enc_other(E, v, t, depth, key);
    }
    if (t == &PyBytes_Type) {
        return w_bytes(E, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    }
    if (t == S->packed_type) {
        PyObject *data = slot_at(v, S->packed_off);
        if (data != NULL && PyBytes_CheckExact(data)) {
            if (PyBytes_GET_SIZE(data) == 0) {
                return put_byte(E, 0xc0);
            }
            return put_raw(E, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
        }
        return enc_other(E, v, t, depth, key);
    }
    if (t == &PySet_Type || t == &PyFrozenSet_Type) {
        return enc_set(E, v, t, t == &PySet_Type, depth, key);
    }
    if (t == S->ext_type && PyTuple_GET_SIZE(v) == 2) {
        PyObject *code = PyTuple_GET_ITEM(v, 0), *data = PyTuple_GET_ITEM(v, 1);
        if (PyLong_CheckExact(code) && PyBytes_CheckExact(data)) {
            int overflow = 0;
            long c = PyLong_AsLongAndOverflow(code, &overflow);
            if (overflow == 0 && c >= -128 && c <= 127) {
                if (c == EXT_TRUNCATED) {
                    E->nodes--; /* a marker already in the value: free, like ours */
                }
                unsigned char h[6];
                Py_ssize_t hl = ext_hdr(h, (int)c, PyBytes_GET_SIZE(data));
                if (put_raw(E, h, hl) < 0) {
                    return -1;
                }
                return put_raw(E, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
            }
        }
    }
    if (t == &PyByteArray_Type) {
        return w_bytearray(E, v, t);
    }
    return enc_other(E, v, t, depth, key);
}

/* ------------------------------------------------------------------ entry points */

int cinema_limits_read(PyObject *obj, CinemaLimits *out) {
    static const char *names[] = {"max_depth", "max_items", "max_str",
                                  "max_bytes", "max_repr",  "max_nodes"};
    Py_ssize_t vals[6];
    if (cinema_state.limits_type == NULL || Py_TYPE(obj) != cinema_state.limits_type) {
        PyErr_SetString(PyExc_TypeError, "limits must be a recorder.payload.Limits");
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        PyObject *x = PyObject_GetAttrString(obj, names[i]);
        if (x == NULL) {
            return -1;
        }
        vals[i] = PyLong_CheckExact(x) ? PyLong_AsSsize_t(x) : -1;
        Py_DECREF(x);
        if (vals[i] < 1) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "Limits.%s must be a positive int", names[i]);
            return -1;
        }
    }
    if (vals[0] > 200) {
        PyErr_SetString(PyExc_ValueError, "Limits.max_depth must be at most 200");
        return -1;
    }
    out->max_depth = vals[0];
    out->max_items = vals[1];
    out->max_str = vals[2];
    out->max_bytes = vals[3];
    out->max_repr = vals[4];
    out->max_nodes = vals[5];
    return 0;
}

int cinema_limits_from(PyObject *obj, CinemaLimits *out) {
    CinemaState *S = &cinema_state;
    if (!S->ready) {
        PyErr_SetString(PyExc_RuntimeError, "recorder._native._core.setup() was not called");
        return -1;
    }
    if (obj == NULL || obj == Py_None || obj == S->default_limits) {
        *out = S->default_lim;
        return 0;
    }
    if (obj == S->last_limits) { /* Limits is frozen: the same object, the same values */
        *out = S->last_lim;
        return 0;
    }
    if (cinema_limits_read(obj, out) < 0) {
        return -1;
    }
    Py_INCREF(obj);
    Py_XSETREF(S->last_limits, obj);
    S->last_lim = *out;
    return 0;
}

int cinema_encode_into(Buf *out, PyObject *value, const CinemaLimits *lim) {
    CinemaState *S = &cinema_state;
    if (value == Py_None) {
        return 0;
    }
    if (Py_TYPE(value) == S->packed_type) {
        PyObject *data = slot_at(value, S->packed_off);
        if (data != NULL && PyBytes_CheckExact(data)) {
            return buf_put(out, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
        }
    }
    Enc E;
    E.out = out;
    E.base = out->len;
    E.lim = *lim;
    E.nodes = 0;
    table_init(&E.seen);
    table_init(&E.names);
    Py_INCREF(value);
    int r = enc_node(&E, value, 0, 0);
    Py_DECREF(value);
    table_free(&E.seen);
    table_free(&E.names);
    if (r < 0) {
        out->len = E.base; /* nothing half-written stays behind */
    }
    return r;
}

/* ------------------------------------------------------------------ keyframe mailboxes */

/* A sandbox mailbox's two keyframe cells (recorder.session.keyframes.MailboxCells), without
 * building the world's lists: a fan-out keyframe lists thousands of queued messages, and each
 * [msg_id, sender, message] list and [msg_id, sender] pair it built was one more object for
 * the program's garbage collector to walk and promote.
 *
 * envelopes yields the mailbox's (msg_id, sender, message, recorded) tuples, oldest first;
 * the first `limit` are taken. Returns (payload, ids, rows) where payload is the encoding of
 * [[msg_id, sender, message if recorded is None else recorded], ...] under `limits` (the bytes
 * cinema_encode_into writes for that list: enc_node and enc_seq of a list of 3-lists, step
 * for step), ids the (msg_id, sender) tuples, and rows the envelopes taken; or None when the
 * common case does not hold (an envelope that is not such a tuple, an id or sender that is
 * not an int in [0, 2**62), limits too small for the rows to be written whole), for the
 * caller to build the lists. */
PyObject *cinema_mailbox_cells(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "mailbox_cells(envelopes, limit, limits, /)");
        return NULL;
    }
    CinemaLimits lim;
    if (cinema_limits_from(args[2], &lim) < 0) {
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[1]);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t len = PyObject_Length(args[0]);
    if (len < 0) {
        return NULL;
    }
    Py_ssize_t n = len < limit ? len : (limit > 0 ? limit : 0);
    /* the conditions of keyframes._mailbox_ids' common case, and whole 3-lists */
    if (n > lim.max_items || 3 * n + 1 > lim.max_nodes || lim.max_depth < 3 ||
        19 * n + 5 >= lim.max_bytes || lim.max_items < 3) {
        Py_RETURN_NONE;
    }
    PyObject *rows = PyTuple_New(n);
    if (rows == NULL) {
        return NULL;
    }
    PyObject *it = PyObject_GetIter(args[0]);
    if (it == NULL) {
        Py_DECREF(rows);
        return NULL;
    }
    Py_ssize_t got = 0;
    int common = 1;
    while (got < n) {
        PyObject *env = PyIter_Next(it);
        if (env == NULL) {
            break;
        }
        PyTuple_SET_ITEM(rows, got++, env); /* the reference moves in */
        if (!PyTuple_CheckExact(env) || PyTuple_GET_SIZE(env) != 4) {
            common = 0;
            break;
        }
        for (int j = 0; j < 2; j++) {
            PyObject *x = PyTuple_GET_ITEM(env, j);
            int overflow = 0;
            long long d = PyLong_CheckExact(x) ? PyLong_AsLongLongAndOverflow(x, &overflow) : -1;
            if (overflow != 0 || d < 0 || d >= (1LL << 62)) {
                common = 0;
            }
        }
        if (!common) {
            break;
        }
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        Py_DECREF(rows);
        return NULL;
    }
    if (!common || got != n) { /* (a mailbox that shrank while read: the lists will do) */
        Py_DECREF(rows);
        Py_RETURN_NONE;
    }

    char mem[2048];
    Buf b;
    buf_init(&b, mem, sizeof(mem));
    Enc E;
    E.out = &b;
    E.base = 0;
    E.lim = lim;
    E.nodes = 0;
    table_init(&E.seen);
    table_init(&E.names);
    PyObject *result = NULL, *payload = NULL, *ids = NULL;
    Frame F, R;
    E.nodes++; /* the list (enc_node); depth 0 < max_depth, n <= max_items: no marker */
    int ok = frame_open(&E, &F, 0, n, NULL, 0) == 0 && frame_header(&E, &F) == 0;
    int stopped = 0; /* F closed by a budget cut, with its marker */
    for (Py_ssize_t i = 0; ok && !stopped && i < n; i++) {
        int cut = budget_cut(&E, &F, NULL, i, n); /* (a list is never a marker) */
        if (cut != 0) {
            ok = cut > 0;
            stopped = 1;
            break;
        }
        F.count++;
        PyObject **env = ((PyTupleObject *)PyTuple_GET_ITEM(rows, i))->ob_item;
        PyObject *cells[3] = {env[0], env[1], env[3] != Py_None ? env[3] : env[2]};
        E.nodes++; /* the row's list (enc_seq): depth 1 < max_depth, 3 <= max_items */
        ok = frame_open(&E, &R, 0, 3, NULL, 0) == 0 && frame_header(&E, &R) == 0;
        int row_cut = 0;
        for (Py_ssize_t j = 0; ok && j < 3; j++) {
            int c = budget_cut(&E, &R, cells[j], j, 3);
            if (c != 0) {
                ok = c > 0;
                row_cut = 1;
                break;
            }
            R.count++;
            ok = enc_node(&E, cells[j], 2, 0) == 0;
        }
        if (ok && !row_cut) {
            ok = frame_close(&E, &R, NULL, 3) == 0;
        }
        frame_release(&R);
    }
    if (ok && !stopped) {
        ok = frame_close(&E, &F, NULL, n) == 0;
    }
    frame_release(&F);
    if (!ok) {
        goto done;
    }
    payload = PyBytes_FromStringAndSize(b.data, b.len);
    ids = payload == NULL ? NULL : PyList_New(n);
    if (ids == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject **env = ((PyTupleObject *)PyTuple_GET_ITEM(rows, i))->ob_item;
        PyObject *pair = PyTuple_Pack(2, env[0], env[1]);
        if (pair == NULL) {
            goto done;
        }
        PyList_SET_ITEM(ids, i, pair);
    }
    result = PyTuple_Pack(3, payload, ids, rows);
done:
    table_free(&E.seen);
    table_free(&E.names);
    buf_free(&b);
    Py_XDECREF(payload);
    Py_XDECREF(ids);
    Py_DECREF(rows);
    return result;
}
