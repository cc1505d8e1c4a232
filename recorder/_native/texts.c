/* recorder._native._core.payload_texts: the JSON text and the one-line text of encoded
 * payloads, read straight from their msgpack bytes (no Python value built), for the exports.
 *
 * Twins of the Python reference: json.dumps(cinema.model.present.to_json(decode_payload(raw)),
 * allow_nan=False) and cinema.model.render.render_value(decode_payload(raw), 0). Whatever it
 * cannot give exactly as they do (sets, bytes, big integers, NaN and infinities, maps with
 * keys that are not strings or that repeat, reprs to clean up, deep nesting, invalid UTF-8,
 * unknown extensions) it declines: the item is None and the caller takes the reference path.
 * tests/cinema/model/export/test_json.py holds both to the same text. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { T_NIL, T_BOOL, T_INT, T_UINT, T_FLOAT, T_STR, T_BIN, T_ARR, T_MAP, T_EXT };
#define DECLINE 1
#define JSON_DEPTH 90 /* to_json cuts at 100 */
#define TEXT_DEPTH 30 /* render_value cuts past 32 */
#define MAX_KEYS 256
#define NO_PID 0xFFFFFFFFu

typedef struct {
    const uint8_t *p, *end;
} Rd;

typedef struct {
    int t;
    int64_t i;
    uint64_t u;
    double d;
    const uint8_t *s; /* str, bin, ext data */
    Py_ssize_t n;     /* length (str, bin, ext) or count (arr, map) */
    int code;         /* ext code */
} Item;

/* An output buffer (PyMem_Raw*: it grows without the GIL too). ``nogil``: the GIL is
 * released, so nothing may touch Python: a float (whose repr needs Python) answers DEFER and
 * running out of memory sets no exception (the caller does, holding the GIL again). */
typedef struct {
    char *p;
    Py_ssize_t n, cap;
    int nogil;
} Buf;

#define DEFER 2 /* redo this payload holding the GIL */

static int grow_slow(Buf *b, Py_ssize_t extra) {
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            cap = PY_SSIZE_T_MAX;
            break;
        }
        cap *= 2;
    }
    char *p = cap >= b->n + extra ? PyMem_RawRealloc(b->p, cap) : NULL;
    if (p == NULL) {
        if (!b->nogil) PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int grow(Buf *b, Py_ssize_t extra) {
    return b->n + extra <= b->cap ? 0 : grow_slow(b, extra);
}

static inline int put(Buf *b, const char *s, Py_ssize_t n) {
    if (grow(b, n) < 0) {
        return -1;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

#define PUTS(b, s) put((b), (s), (Py_ssize_t)(sizeof(s) - 1))

static inline int putch(Buf *b, char c) {
    if (grow(b, 1) < 0) return -1;
    b->p[b->n++] = c;
    return 0;
}

static int put_u64(Buf *b, uint64_t v) {
    char tmp[24];
    char *e = tmp + sizeof tmp, *q = e;
    do {
        *--q = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put(b, q, e - q);
}

static int put_i64(Buf *b, int64_t v) {
    if (v >= 0) return put_u64(b, (uint64_t)v);
    if (putch(b, '-') < 0) return -1;
    return put_u64(b, (uint64_t)0 - (uint64_t)v);
}

static int put_float(Buf *b, double d) {
    if (b->nogil) return DEFER;
    char *s = PyOS_double_to_string(d, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (s == NULL) {
        return -1;
    }
    int rc = put(b, s, (Py_ssize_t)strlen(s));
    PyMem_Free(s);
    return rc;
}

static inline uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int k = 0; k < n; k++) {
        v = (v << 8) | p[k];
    }
    return v;
}

/* One item's header; str, bin and ext data are skipped over (it->s points at them). Returns
 * 0, or DECLINE on truncated or unknown bytes. */
static int next(Rd *r, Item *it) {
    if (r->p >= r->end) {
        return DECLINE;
    }
    uint8_t c = *r->p++;
    Py_ssize_t left = r->end - r->p;
    int w = 0; /* width of a length field */
    if (c <= 0x7f) {
        it->t = T_INT;
        it->i = c;
        return 0;
    }
    if (c >= 0xe0) {
        it->t = T_INT;
        it->i = (int8_t)c;
        return 0;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        it->t = T_STR;
        it->n = c & 0x1f;
        goto data;
    }
    if (c >= 0x90 && c <= 0x9f) {
        it->t = T_ARR;
        it->n = c & 0x0f;
        return 0;
    }
    if (c >= 0x80 && c <= 0x8f) {
        it->t = T_MAP;
        it->n = c & 0x0f;
        return 0;
    }
    switch (c) {
    case 0xc0: it->t = T_NIL; return 0;
    case 0xc2: it->t = T_BOOL; it->i = 0; return 0;
    case 0xc3: it->t = T_BOOL; it->i = 1; return 0;
    case 0xc4: case 0xc5: case 0xc6:
        w = 1 << (c - 0xc4);
        if (left < w) return DECLINE;
        it->t = T_BIN;
        it->n = (Py_ssize_t)be(r->p, w);
        r->p += w;
        goto data;
    case 0xc7: case 0xc8: case 0xc9:
        w = 1 << (c - 0xc7);
        if (left < w + 1) return DECLINE;
        it->t = T_EXT;
        it->n = (Py_ssize_t)be(r->p, w);
        it->code = (int8_t)r->p[w];
        r->p += w + 1;
        goto data;
    case 0xca:
        if (left < 4) return DECLINE;
        {
            uint32_t u = (uint32_t)be(r->p, 4);
            float f;
            memcpy(&f, &u, 4);
            it->t = T_FLOAT;
            it->d = f;
        }
        r->p += 4;
        return 0;
    case 0xcb:
        if (left < 8) return DECLINE;
        {
            uint64_t u = be(r->p, 8);
            memcpy(&it->d, &u, 8);
            it->t = T_FLOAT;
        }
        r->p += 8;
        return 0;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        w = 1 << (c - 0xcc);
        if (left < w) return DECLINE;
        it->u = be(r->p, w);
        r->p += w;
        if (it->u <= INT64_MAX) {
            it->t = T_INT;
            it->i = (int64_t)it->u;
        } else {
            it->t = T_UINT;
        }
        return 0;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
        w = 1 << (c - 0xd0);
        if (left < w) return DECLINE;
        {
            uint64_t u = be(r->p, w);
            int64_t v;
            if (w == 1) v = (int8_t)u;
            else if (w == 2) v = (int16_t)u;
            else if (w == 4) v = (int32_t)u;
            else v = (int64_t)u;
            it->t = T_INT;
            it->i = v;
        }
        r->p += w;
        return 0;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        if (left < 1) return DECLINE;
        it->t = T_EXT;
        it->n = (Py_ssize_t)1 << (c - 0xd4);
        it->code = (int8_t)r->p[0];
        r->p += 1;
        goto data;
    case 0xd9: case 0xda: case 0xdb:
        w = 1 << (c - 0xd9);
        if (left < w) return DECLINE;
        it->t = T_STR;
        it->n = (Py_ssize_t)be(r->p, w);
        r->p += w;
        goto data;
    case 0xdc: case 0xdd:
        w = c == 0xdc ? 2 : 4;
        if (left < w) return DECLINE;
        it->t = T_ARR;
        it->n = (Py_ssize_t)be(r->p, w);
        r->p += w;
        return 0;
    case 0xde: case 0xdf:
        w = c == 0xde ? 2 : 4;
        if (left < w) return DECLINE;
        it->t = T_MAP;
        it->n = (Py_ssize_t)be(r->p, w);
        r->p += w;
        return 0;
    default:
        return DECLINE; /* 0xc1: never used */
    }
data:
    if (it->n < 0 || r->end - r->p < it->n) {
        return DECLINE;
    }
    it->s = r->p;
    r->p += it->n;
    return 0;
}

static int skip(Rd *r, int depth) {
    Item it;
    if (depth > JSON_DEPTH || next(r, &it)) {
        return DECLINE;
    }
    if (it.t == T_ARR || it.t == T_MAP) {
        Py_ssize_t n = it.t == T_MAP ? 2 * it.n : it.n;
        for (Py_ssize_t k = 0; k < n; k++) {
            if (skip(r, depth + 1)) {
                return DECLINE;
            }
        }
    }
    return 0;
}

/* An extension's data as one whole value: the reader over it and its first item. */
static int ext_inner(const Item *ext, Rd *inner, Item *first) {
    inner->p = ext->s;
    inner->end = ext->s + ext->n;
    return next(inner, first);
}

/* Whether the rest of a map's (or record's) keys are plain: strings, not starting with '$',
 * each once. Leaves r where it was. */
static int plain_keys(Rd r, Py_ssize_t n) {
    if (n > MAX_KEYS) {
        return 0;
    }
    const uint8_t *ks[MAX_KEYS];
    Py_ssize_t kn[MAX_KEYS];
    for (Py_ssize_t k = 0; k < n; k++) {
        Item key;
        if (next(&r, &key) || key.t != T_STR || (key.n && key.s[0] == '$')) {
            return 0;
        }
        for (Py_ssize_t j = 0; j < k; j++) {
            if (kn[j] == key.n && memcmp(ks[j], key.s, key.n) == 0) {
                return 0;
            }
        }
        ks[k] = key.s;
        kn[k] = key.n;
        if (skip(&r, 0)) {
            return 0;
        }
    }
    return 1;
}

/* Keys checked as they are written (a declined payload's output is thrown away, so checking
 * late is as good as checking first), without walking the map twice: each nested map would
 * otherwise be walked once more per level above it. Maps of more than FEW_KEYS keys are
 * checked first by plain_keys (a small stack frame per nesting level). */
#define FEW_KEYS 16
typedef struct {
    const uint8_t *s[FEW_KEYS];
    Py_ssize_t n[FEW_KEYS];
} Keys;

/* Whether the k-th key of a map of n keys is plain (as plain_keys says of them all). */
static inline int plain_key(Keys *seen, Py_ssize_t n, const Item *key, Py_ssize_t k) {
    if (n > FEW_KEYS) return 1; /* plain_keys said so */
    if (key->t != T_STR || (key->n && key->s[0] == '$')) return 0;
    for (Py_ssize_t j = 0; j < k; j++) {
        if (seen->n[j] == key->n && memcmp(seen->s[j], key->s, key->n) == 0) return 0;
    }
    seen->s[k] = key->s;
    seen->n[k] = key->n;
    return 1;
}

/* A string as json.dumps writes it (ensure_ascii); DECLINE on invalid UTF-8. */
static int json_str(Buf *b, const uint8_t *s, Py_ssize_t n) {
    static const char hex[] = "0123456789abcdef";
    if (putch(b, '"') < 0) return -1;
    for (Py_ssize_t k = 0; k < n;) {
        uint8_t c = s[k];
        if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
            Py_ssize_t start = k;
            while (k < n && s[k] >= 0x20 && s[k] <= 0x7e && s[k] != '"' && s[k] != '\\') k++;
            if (put(b, (const char *)s + start, k - start) < 0) return -1;
            continue;
        }
        uint32_t cp;
        if (c < 0x80) {
            cp = c;
            k += 1;
        } else if (c >= 0xc2 && c <= 0xdf && k + 1 < n && (s[k + 1] & 0xc0) == 0x80) {
            cp = ((uint32_t)(c & 0x1f) << 6) | (s[k + 1] & 0x3f);
            k += 2;
        } else if (c >= 0xe0 && c <= 0xef && k + 2 < n && (s[k + 1] & 0xc0) == 0x80 &&
                   (s[k + 2] & 0xc0) == 0x80) {
            cp = ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(s[k + 1] & 0x3f) << 6) |
                 (s[k + 2] & 0x3f);
            if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return DECLINE;
            k += 3;
        } else if (c >= 0xf0 && c <= 0xf4 && k + 3 < n && (s[k + 1] & 0xc0) == 0x80 &&
                   (s[k + 2] & 0xc0) == 0x80 && (s[k + 3] & 0xc0) == 0x80) {
            cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[k + 1] & 0x3f) << 12) |
                 ((uint32_t)(s[k + 2] & 0x3f) << 6) | (s[k + 3] & 0x3f);
            if (cp < 0x10000 || cp > 0x10ffff) return DECLINE;
            k += 4;
        } else {
            return DECLINE;
        }
        char e[12];
        int en;
        switch (cp) {
        case '"': e[0] = '\\'; e[1] = '"'; en = 2; break;
        case '\\': e[0] = '\\'; e[1] = '\\'; en = 2; break;
        case '\n': e[0] = '\\'; e[1] = 'n'; en = 2; break;
        case '\r': e[0] = '\\'; e[1] = 'r'; en = 2; break;
        case '\t': e[0] = '\\'; e[1] = 't'; en = 2; break;
        case '\b': e[0] = '\\'; e[1] = 'b'; en = 2; break;
        case '\f': e[0] = '\\'; e[1] = 'f'; en = 2; break;
        default:
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000, hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);
                e[0] = '\\'; e[1] = 'u'; e[2] = hex[hi >> 12]; e[3] = hex[(hi >> 8) & 15];
                e[4] = hex[(hi >> 4) & 15]; e[5] = hex[hi & 15];
                e[6] = '\\'; e[7] = 'u'; e[8] = hex[lo >> 12]; e[9] = hex[(lo >> 8) & 15];
                e[10] = hex[(lo >> 4) & 15]; e[11] = hex[lo & 15];
                en = 12;
            } else {
                e[0] = '\\'; e[1] = 'u'; e[2] = hex[cp >> 12]; e[3] = hex[(cp >> 8) & 15];
                e[4] = hex[(cp >> 4) & 15]; e[5] = hex[cp & 15];
                en = 6;
            }
        }
        if (put(b, e, en) < 0) return -1;
    }
    return putch(b, '"');
}

#define TRY(x)                                                                                 \
    do {                                                                                       \
        int rc_ = (x);                                                                         \
        if (rc_) return rc_;                                                                   \
    } while (0)

static int json_value(Rd *r, Buf *b, int depth);

static int json_items(Rd *r, Buf *b, Py_ssize_t n, int depth) {
    TRY(putch(b, '['));
    for (Py_ssize_t k = 0; k < n; k++) {
        if (k) TRY(PUTS(b, ", "));
        TRY(json_value(r, b, depth + 1));
    }
    return putch(b, ']');
}

/* The fields of a plain map, after an opening already written ("{" or {"$type": ...). */
static int json_fields(Rd *r, Buf *b, Py_ssize_t n, int depth, int first) {
    Keys seen;
    if (n > FEW_KEYS && !plain_keys(*r, n)) return DECLINE;
    for (Py_ssize_t k = 0; k < n; k++) {
        Item key;
        TRY(next(r, &key));
        if (!plain_key(&seen, n, &key, k)) return DECLINE;
        if (!first || k) TRY(PUTS(b, ", "));
        TRY(json_str(b, key.s, key.n));
        TRY(PUTS(b, ": "));
        TRY(json_value(r, b, depth + 1));
    }
    return putch(b, '}');
}

static int json_ext(const Item *it, Buf *b, int depth) {
    Rd in;
    Item x;
    TRY(ext_inner(it, &in, &x));
    int rc;
    switch (it->code) {
    case 1: /* tuple */
        if (x.t != T_ARR) return DECLINE;
        TRY(PUTS(b, "{\"$tuple\": "));
        TRY(json_items(&in, b, x.n, depth));
        rc = putch(b, '}');
        break;
    case 4: { /* record [name, {fields}] */
        Item name, fields;
        if (x.t != T_ARR || x.n != 2 || next(&in, &name) || name.t != T_STR) return DECLINE;
        if (next(&in, &fields) || fields.t != T_MAP) return DECLINE;
        TRY(PUTS(b, "{\"$type\": "));
        TRY(json_str(b, name.s, name.n));
        rc = json_fields(&in, b, fields.n, depth, 0);
        break;
    }
    case 5: { /* enum [type, member, value] */
        Item type, member;
        if (x.t != T_ARR || x.n != 3 || next(&in, &type) || type.t != T_STR) return DECLINE;
        if (next(&in, &member) || member.t != T_STR) return DECLINE;
        TRY(PUTS(b, "{\"$enum\": "));
        TRY(json_str(b, type.s, type.n));
        TRY(PUTS(b, ", \"name\": "));
        TRY(json_str(b, member.s, member.n));
        TRY(PUTS(b, ", \"value\": "));
        TRY(json_value(&in, b, depth + 1));
        rc = putch(b, '}');
        break;
    }
    case 6: /* pid */
        if (x.t == T_INT) {
            TRY(PUTS(b, "{\"$pid\": "));
            if (x.i < 0 || x.i == NO_PID) TRY(PUTS(b, "null"));
            else TRY(put_i64(b, x.i));
        } else if (x.t == T_UINT) {
            TRY(PUTS(b, "{\"$pid\": "));
            TRY(put_u64(b, x.u));
        } else {
            return DECLINE;
        }
        rc = putch(b, '}');
        break;
    case 7: /* ref */
        TRY(PUTS(b, "{\"$ref\": "));
        if (x.t == T_INT) TRY(put_i64(b, x.i));
        else if (x.t == T_UINT) TRY(put_u64(b, x.u));
        else return DECLINE;
        rc = putch(b, '}');
        break;
    case 8: { /* opaque [type, text] */
        Item text;
        if (x.t != T_ARR || x.n != 2 || next(&in, &x) || x.t != T_STR) return DECLINE;
        if (next(&in, &text) || text.t != T_STR) return DECLINE;
        TRY(PUTS(b, "{\"$opaque\": "));
        TRY(json_str(b, x.s, x.n));
        TRY(PUTS(b, ", \"repr\": "));
        TRY(json_str(b, text.s, text.n));
        rc = putch(b, '}');
        break;
    }
    case 9: { /* truncated [what, size, preview] */
        Item what, size;
        if (x.t != T_ARR || x.n != 3 || next(&in, &what) || what.t != T_STR) return DECLINE;
        if (next(&in, &size) || size.t == T_BOOL || size.t == T_UINT) return DECLINE;
        if (size.t == T_ARR || size.t == T_MAP) return DECLINE;
        TRY(PUTS(b, "{\"$truncated\": "));
        TRY(json_str(b, what.s, what.n));
        TRY(PUTS(b, ", \"size\": "));
        TRY(put_i64(b, size.t == T_INT ? size.i : 0));
        TRY(PUTS(b, ", \"preview\": "));
        TRY(json_value(&in, b, depth + 1));
        rc = putch(b, '}');
        break;
    }
    default: /* sets (sorted by the reference), big integers, unknown codes */
        return DECLINE;
    }
    if (rc) return rc;
    return in.p == in.end ? 0 : DECLINE; /* trailing bytes: the decoder refuses them */
}

static int json_value(Rd *r, Buf *b, int depth) {
    Item it;
    if (depth > JSON_DEPTH) return DECLINE;
    TRY(next(r, &it));
    switch (it.t) {
    case T_NIL: return PUTS(b, "null");
    case T_BOOL: return it.i ? PUTS(b, "true") : PUTS(b, "false");
    case T_INT: return put_i64(b, it.i);
    case T_UINT: return put_u64(b, it.u);
    case T_FLOAT:
        if (!isfinite(it.d)) return DECLINE;
        return put_float(b, it.d);
    case T_STR: return json_str(b, it.s, it.n);
    case T_ARR: return json_items(r, b, it.n, depth);
    case T_MAP:
        TRY(putch(b, '{'));
        return json_fields(r, b, it.n, depth, 1);
    case T_EXT: return json_ext(&it, b, depth);
    default: return DECLINE; /* bytes: base64 by the reference */
    }
}

/* ------------------------------------------------------------------ the one-line text */

static int is_atom(const uint8_t *s, Py_ssize_t n) {
    if (n == 0 || s[0] < 'a' || s[0] > 'z') return 0;
    for (Py_ssize_t k = 1; k < n; k++) {
        uint8_t c = s[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '@')) {
            return 0;
        }
    }
    return 1;
}

/* render.string_text: bare when atom-like, else quoted with the line-safe escapes. (UTF-8
 * validity is checked once on the whole text.) */
static int text_str(Buf *b, const uint8_t *s, Py_ssize_t n) {
    static const char hex[] = "0123456789abcdef";
    if (is_atom(s, n)) return put(b, (const char *)s, n);
    TRY(putch(b, '"'));
    for (Py_ssize_t k = 0; k < n;) {
        uint8_t c = s[k];
        char e[6] = {'\\', 'u', '0', '0', 0, 0};
        int en = 0;
        Py_ssize_t used = 1;
        if (c == '\\' || c == '"') {
            e[1] = (char)c;
            en = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            en = 2;
        } else if (c < 0x20 || c == 0x7f) {
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            en = 6;
        } else if (c == 0xc2 && k + 1 < n && s[k + 1] >= 0x80 && s[k + 1] <= 0x9f) {
            e[4] = hex[s[k + 1] >> 4]; /* C1 controls U+0080..U+009F */
            e[5] = hex[s[k + 1] & 15];
            en = 6;
            used = 2;
        } else if (c == 0xe2 && k + 2 < n && s[k + 1] == 0x80 &&
                   (s[k + 2] == 0xa8 || s[k + 2] == 0xa9)) {
            e[2] = '2'; /* U+2028, U+2029 */
            e[3] = '0';
            e[4] = '2';
            e[5] = s[k + 2] == 0xa8 ? '8' : '9';
            en = 6;
            used = 3;
        }
        if (en) {
            TRY(put(b, e, en));
            k += used;
            continue;
        }
        Py_ssize_t start = k++;
        while (k < n && s[k] >= 0x20 && s[k] != '\\' && s[k] != '"' && s[k] != 0x7f &&
               s[k] != 0xc2 && s[k] != 0xe2) {
            k++;
        }
        TRY(put(b, (const char *)s + start, k - start));
    }
    return putch(b, '"');
}

/* render.short_type_name: pkg.module.Outer.Inner -> Outer.Inner (ASCII names only). */
static int short_name(Buf *b, const uint8_t *s, Py_ssize_t n) {
    for (Py_ssize_t k = 0; k < n; k++) {
        if (s[k] >= 0x80) return DECLINE;
    }
    Py_ssize_t start = n;
    while (start > 0 && s[start - 1] != '.') start--;
    /* the tail is from start; take outer components while the one before starts uppercase */
    while (start > 1) {
        Py_ssize_t head_end = start - 1; /* the dot */
        Py_ssize_t comp = head_end;
        while (comp > 0 && s[comp - 1] != '.') comp--;
        if (comp == head_end || !(s[comp] >= 'A' && s[comp] <= 'Z')) break;
        start = comp;
    }
    return put(b, (const char *)s + start, n - start);
}

static inline int is_word(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static inline int is_hex(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline int is_word_start(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* render._leaf of an Opaque whose text starts with '<' (<class 'pkg.mod.C'>, <function f at
 * 0x7f..>): the quotes dropped, then _ADDRESS (" at 0x<hex digits>"), then _QUALIFIED
 * ((?<![\w.])(?:(?:[A-Za-z_]\w*|<locals>)\.)+(?=[A-Za-z_]\w*): the module path before a name).
 * ASCII only (the regexes' \w is Unicode's): anything else is declined. */
static int repr_text(Buf *b, const uint8_t *s, Py_ssize_t n) {
    uint8_t stack[512];
    uint8_t *t = n <= (Py_ssize_t)sizeof stack ? stack : PyMem_RawMalloc((size_t)n);
    if (t == NULL) {
        if (!b->nogil) PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t m = 0, floor = 0; /* re.sub does not look again at what it kept */
    int rc = 0;
    for (Py_ssize_t k = 0; k < n; k++) { /* the quotes go, the address goes */
        uint8_t c = s[k];
        if (c >= 0x80) {
            rc = DECLINE;
            goto done;
        }
        if (c == '\'') continue;
        t[m++] = c;
        /* " at 0x" then one hex digit or more, in the text without quotes */
        if (m - 6 >= floor && memcmp(t + m - 6, " at 0x", 6) == 0) {
            Py_ssize_t j = k + 1;
            while (j < n && s[j] == '\'') j++;
            if (j < n && is_hex(s[j])) {
                m -= 6;
                floor = m;
                for (k = j; k + 1 < n && (is_hex(s[k + 1]) || s[k + 1] == '\''); k++) {
                }
            }
        }
    }
    for (Py_ssize_t i = 0; i < m;) { /* module paths before a name go */
        if (i == 0 || !(is_word(t[i - 1]) || t[i - 1] == '.')) {
            Py_ssize_t j = i, end = -1;
            for (;;) {
                Py_ssize_t k = j;
                if (k < m && is_word_start(t[k])) {
                    for (k++; k < m && is_word(t[k]); k++) {
                    }
                } else if (m - k >= 8 && memcmp(t + k, "<locals>", 8) == 0) {
                    k += 8;
                } else {
                    break;
                }
                if (k >= m || t[k] != '.') break;
                j = k + 1;
                if (j < m && is_word_start(t[j])) end = j;
            }
            if (end > 0) {
                i = end;
                continue;
            }
        }
        if ((rc = putch(b, (char)t[i])) != 0) goto done;
        i++;
    }
done:
    if (t != stack) PyMem_RawFree(t);
    return rc;
}

static int text_value(Rd *r, Buf *b, int depth);

static int text_items(Rd *r, Buf *b, Py_ssize_t n, int depth, char open, char close,
                      int trailing_comma) {
    TRY(putch(b, open));
    for (Py_ssize_t k = 0; k < n; k++) {
        if (k) TRY(PUTS(b, ", "));
        TRY(text_value(r, b, depth + 1));
    }
    if (trailing_comma && n == 1) TRY(putch(b, ','));
    return putch(b, close);
}

static int text_ext(const Item *it, Buf *b, int depth) {
    Rd in;
    Item x;
    TRY(ext_inner(it, &in, &x));
    int rc = 0;
    switch (it->code) {
    case 1:
        if (x.t != T_ARR) return DECLINE;
        rc = text_items(&in, b, x.n, depth, '(', ')', 1);
        break;
    case 4: {
        Item name, fields;
        if (x.t != T_ARR || x.n != 2 || next(&in, &name) || name.t != T_STR) return DECLINE;
        if (next(&in, &fields) || fields.t != T_MAP) return DECLINE;
        if (fields.n > FEW_KEYS && !plain_keys(in, fields.n)) return DECLINE;
        Keys seen;
        TRY(short_name(b, name.s, name.n));
        TRY(putch(b, '('));
        for (Py_ssize_t k = 0; k < fields.n; k++) {
            Item key;
            TRY(next(&in, &key));
            if (!plain_key(&seen, fields.n, &key, k)) return DECLINE;
            if (k) TRY(PUTS(b, ", "));
            TRY(put(b, (const char *)key.s, key.n));
            TRY(putch(b, '='));
            TRY(text_value(&in, b, depth + 1));
        }
        rc = putch(b, ')');
        break;
    }
    case 5: {
        Item type, member;
        if (x.t != T_ARR || x.n != 3 || next(&in, &type) || type.t != T_STR) return DECLINE;
        if (next(&in, &member) || member.t != T_STR) return DECLINE;
        if (skip(&in, depth + 1)) return DECLINE;
        TRY(short_name(b, type.s, type.n));
        TRY(putch(b, '.'));
        rc = put(b, (const char *)member.s, member.n);
        break;
    }
    case 6:
        if (x.t == T_INT && x.i == NO_PID) return PUTS(b, "<no process>");
        if (x.t != T_INT && x.t != T_UINT) return DECLINE;
        TRY(PUTS(b, "<0."));
        TRY(x.t == T_INT ? put_i64(b, x.i) : put_u64(b, x.u));
        rc = PUTS(b, ".0>");
        break;
    case 7:
        if (x.t != T_INT && x.t != T_UINT) return DECLINE;
        TRY(PUTS(b, "#Ref<"));
        TRY(x.t == T_INT ? put_i64(b, x.i) : put_u64(b, x.u));
        rc = putch(b, '>');
        break;
    case 8: {
        Item text;
        if (x.t != T_ARR || x.n != 2 || next(&in, &x) || x.t != T_STR) return DECLINE;
        if (next(&in, &text) || text.t != T_STR) return DECLINE;
        if (text.n && text.s[0] == '<') {
            rc = repr_text(b, text.s, text.n); /* module paths and addresses go */
        } else {
            rc = put(b, (const char *)text.s, text.n);
        }
        break;
    }
    case 9: {
        Item what, size;
        if (x.t != T_ARR || x.n != 3 || next(&in, &what) || what.t != T_STR) return DECLINE;
        if (next(&in, &size) || size.t == T_BOOL || size.t == T_UINT) return DECLINE;
        if (size.t == T_ARR || size.t == T_MAP) return DECLINE;
        if (skip(&in, depth + 1)) return DECLINE;
        TRY(PUTS(b, "<truncated "));
        TRY(put(b, (const char *)what.s, what.n));
        TRY(PUTS(b, ": "));
        TRY(put_i64(b, size.t == T_INT ? size.i : 0));
        rc = putch(b, '>');
        break;
    }
    default:
        return DECLINE;
    }
    if (rc) return rc;
    return in.p == in.end ? 0 : DECLINE;
}

static int text_value(Rd *r, Buf *b, int depth) {
    Item it;
    if (depth > TEXT_DEPTH) return DECLINE;
    TRY(next(r, &it));
    switch (it.t) {
    case T_NIL: return PUTS(b, "None");
    case T_BOOL: return it.i ? PUTS(b, "True") : PUTS(b, "False");
    case T_INT: return put_i64(b, it.i);
    case T_UINT: return put_u64(b, it.u);
    case T_FLOAT:
        if (!isfinite(it.d)) return DECLINE;
        return put_float(b, it.d);
    case T_STR: return text_str(b, it.s, it.n);
    case T_ARR: return text_items(r, b, it.n, depth, '[', ']', 0);
    case T_MAP: {
        if (it.n > FEW_KEYS && !plain_keys(*r, it.n)) return DECLINE;
        Keys seen;
        TRY(putch(b, '{'));
        for (Py_ssize_t k = 0; k < it.n; k++) {
            if (k) TRY(PUTS(b, ", "));
            Rd at = *r;
            Item key;
            if (next(&at, &key) || !plain_key(&seen, it.n, &key, k)) return DECLINE;
            TRY(text_value(r, b, depth + 1));
            TRY(PUTS(b, ": "));
            TRY(text_value(r, b, depth + 1));
        }
        return putch(b, '}');
    }
    case T_EXT: return text_ext(&it, b, depth);
    default: return DECLINE;
    }
}

/* ------------------------------------------------------------------ heads */

static int is_wrapper(const Item *s, PyObject *wrappers) {
    Py_ssize_t n = PyTuple_GET_SIZE(wrappers);
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t len;
        const char *w = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(wrappers, k), &len);
        if (w != NULL && len == s->n && memcmp(w, s->s, len) == 0) return 1;
    }
    return 0;
}

static PyObject *str_of(const uint8_t *s, Py_ssize_t n) {
    PyObject *o = PyUnicode_DecodeUTF8((const char *)s, n, "strict");
    if (o == NULL) PyErr_Clear();
    return o;
}

static PyObject *after_dot(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t k = n;
    while (k > 0 && s[k - 1] != '.') k--;
    return str_of(s + k, n - k);
}

/* cinema.model.export._json.json_message_type of the payload (NULL: ask the reference). */
static PyObject *message_type(Rd r, PyObject *wrappers) {
    Item it;
    for (int round = 0; round < 4; round++) {
        Rd at = r;
        if (next(&at, &it) || it.t != T_EXT || it.code != 1) break;
        Rd in;
        Item arr, first;
        if (ext_inner(&it, &in, &arr) || arr.t != T_ARR || arr.n < 1) break;
        Rd items = in;
        if (next(&in, &first) || first.t != T_STR || !is_wrapper(&first, wrappers)) break;
        if (arr.n < 2) return str_of(first.s, first.n);
        for (Py_ssize_t k = 0; k < arr.n - 1; k++) {
            if (skip(&items, 0)) return NULL;
        }
        r = items;
    }
    if (next(&r, &it)) return NULL;
    if (it.t == T_STR) return str_of(it.s, it.n);
    if (it.t == T_EXT) {
        Rd in;
        Item x, first;
        if (ext_inner(&it, &in, &x) || x.t != T_ARR) return NULL;
        if (it.code == 1) {
            if (x.n >= 1 && !next(&in, &first) && first.t == T_STR) return str_of(first.s, first.n);
            return NULL;
        }
        if (((it.code == 4 && x.n == 2) || (it.code == 5 && x.n == 3)) && !next(&in, &first) &&
            first.t == T_STR) {
            return after_dot(first.s, first.n);
        }
        return NULL;
    }
    if (it.t == T_MAP && plain_keys(r, it.n)) {
        for (Py_ssize_t k = 0; k < it.n; k++) {
            Item key, v;
            if (next(&r, &key)) return NULL;
            if (key.n == 4 && memcmp(key.s, "type", 4) == 0) {
                if (next(&r, &v) || v.t != T_STR) return NULL;
                return str_of(v.s, v.n);
            }
            if (skip(&r, 0)) return NULL;
        }
    }
    return NULL;
}

/* The text of ``form[key]`` for a plain map (a string as it is, else its JSON text; a missing
 * key: "null"), NULL for anything else. */
static PyObject *key_text(Rd r, const char *key, Py_ssize_t klen, Buf *b) {
    Item it;
    if (next(&r, &it) || it.t != T_MAP || !plain_keys(r, it.n)) return NULL;
    for (Py_ssize_t k = 0; k < it.n; k++) {
        Item name;
        if (next(&r, &name)) return NULL;
        if (name.n == klen && memcmp(name.s, key, klen) == 0) {
            Rd at = r;
            Item v;
            if (next(&at, &v)) return NULL;
            if (v.t == T_STR) return str_of(v.s, v.n);
            b->n = 0;
            if (json_value(&r, b, 1)) return NULL;
            return str_of((const uint8_t *)b->p, b->n);
        }
        if (skip(&r, 0)) return NULL;
    }
    return PyUnicode_FromString("null");
}

/* ------------------------------------------------------------------ the entry point */

typedef int (*Writer)(Rd *, Buf *, int);

/* One payload through a writer: a str, None when declined, NULL on a Python error. */
static PyObject *one(const uint8_t *s, Py_ssize_t n, Writer w, Buf *b) {
    if (n == 0) return PyUnicode_FromStringAndSize("", 0);
    Rd r = {s, s + n};
    b->n = 0;
    int rc = w(&r, b, 0);
    if (rc < 0) return NULL;
    if (rc || r.p != r.end) Py_RETURN_NONE;
    PyObject *o = PyUnicode_DecodeUTF8(b->p, b->n, "strict");
    if (o == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return o;
}

/* The payload block, its offsets and the index of a frame (args 0-2): all three, or none
 * and -1 with the error set. */
static int frame_buffers(PyObject *const *args, Py_buffer *block, Py_buffer *offs,
                         Py_buffer *index) {
    if (PyObject_GetBuffer(args[0], block, PyBUF_SIMPLE) < 0) return -1;
    if (PyObject_GetBuffer(args[1], offs, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(block);
        return -1;
    }
    if (PyObject_GetBuffer(args[2], index, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(block);
        PyBuffer_Release(offs);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(payload_texts_doc,
"payload_texts(block, offsets, index, json, text, head, key, wrappers) -> (jsons, texts, heads)\n"
"\n"
"For each k of index (int64), the payload block[offsets[k]:offsets[k + 1]] (offsets: int64):\n"
"its JSON text (json.dumps(to_json(v), allow_nan=False)) and its one-line text\n"
"(render_value(v, 0)), each None when the reference must say it and '' for an empty payload;\n"
"and a head: head 1 the message type (json_message_type, wrappers: the call wrappers), head 2\n"
"the text of the plain map's value under key (None: ask the reference). Lists not asked for\n"
"are None.");

PyObject *cinema_payload_texts(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "payload_texts takes 8 arguments");
        return NULL;
    }
    int want_json = PyObject_IsTrue(args[3]), want_text = PyObject_IsTrue(args[4]);
    long head = PyLong_AsLong(args[5]);
    if (want_json < 0 || want_text < 0 || (head == -1 && PyErr_Occurred())) return NULL;
    Py_ssize_t klen = 0;
    const char *key = NULL;
    if (head == 2 && (key = PyUnicode_AsUTF8AndSize(args[6], &klen)) == NULL) return NULL;
    if (!PyTuple_Check(args[7])) {
        PyErr_SetString(PyExc_TypeError, "wrappers must be a tuple of str");
        return NULL;
    }
    Py_buffer block, offs, index;
    if (frame_buffers(args, &block, &offs, &index) < 0) return NULL;
    PyObject *jsons = NULL, *texts = NULL, *heads = NULL, *out = NULL;
    Buf b = {NULL, 0, 0, 0}, hb = {NULL, 0, 0, 0};
    Py_ssize_t n = index.len / 8, noffs = offs.len / 8;
    const int64_t *ix = index.buf, *of = offs.buf;
    const uint8_t *base = block.buf;
    if ((want_json && (jsons = PyList_New(n)) == NULL) ||
        (want_text && (texts = PyList_New(n)) == NULL) ||
        (head && (heads = PyList_New(n)) == NULL)) {
        goto done;
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        int64_t k = ix[j];
        if (k < 0 || k + 1 >= noffs || of[k] < 0 || of[k] > of[k + 1] || of[k + 1] > block.len) {
            PyErr_Format(PyExc_IndexError, "payload %lld is outside the block", (long long)k);
            goto done;
        }
        const uint8_t *s = base + of[k];
        Py_ssize_t len = (Py_ssize_t)(of[k + 1] - of[k]);
        if (jsons) {
            PyObject *o = one(s, len, json_value, &b);
            if (o == NULL) goto done;
            PyList_SET_ITEM(jsons, j, o);
        }
        if (texts) {
            PyObject *o = one(s, len, text_value, &b);
            if (o == NULL) goto done;
            PyList_SET_ITEM(texts, j, o);
        }
        if (heads) {
            Rd r = {s, s + len};
            PyObject *o = NULL;
            if (len) o = head == 1 ? message_type(r, args[7]) : key_text(r, key, klen, &hb);
            if (o == NULL) {
                if (PyErr_Occurred()) goto done;
                o = Py_NewRef(Py_None);
            }
            PyList_SET_ITEM(heads, j, o);
        }
    }
    out = PyTuple_Pack(3, jsons ? jsons : Py_None, texts ? texts : Py_None,
                       heads ? heads : Py_None);
done:
    Py_XDECREF(jsons);
    Py_XDECREF(texts);
    Py_XDECREF(heads);
    PyMem_RawFree(b.p);
    PyMem_RawFree(hb.p);
    PyBuffer_Release(&block);
    PyBuffer_Release(&offs);
    PyBuffer_Release(&index);
    return out;
}

const char *cinema_payload_texts_doc = payload_texts_doc;

/* ------------------------------------------------------------------ columns, in bulk */

/* Whether s[0:n] is valid UTF-8 as Python's strict decoder says (no overlongs, surrogates or
 * code points past U+10FFFF). */
static int valid_utf8(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t k = 0;
    while (k < n) {
        while (k + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + k, 8);
            if (w & 0x8080808080808080ull) break;
            k += 8;
        }
        if (k >= n) break;
        uint8_t c = s[k];
        if (c < 0x80) {
            k++;
        } else if (c >= 0xc2 && c <= 0xdf) {
            if (k + 1 >= n || (s[k + 1] & 0xc0) != 0x80) return 0;
            k += 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            if (k + 2 >= n || (s[k + 1] & 0xc0) != 0x80 || (s[k + 2] & 0xc0) != 0x80) return 0;
            if (c == 0xe0 && s[k + 1] < 0xa0) return 0; /* overlong */
            if (c == 0xed && s[k + 1] >= 0xa0) return 0; /* surrogate */
            k += 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            if (k + 3 >= n || (s[k + 1] & 0xc0) != 0x80 || (s[k + 2] & 0xc0) != 0x80 ||
                (s[k + 3] & 0xc0) != 0x80) {
                return 0;
            }
            if (c == 0xf0 && s[k + 1] < 0x90) return 0; /* overlong */
            if (c == 0xf4 && s[k + 1] >= 0x90) return 0; /* past U+10FFFF */
            k += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

/* One payload through a writer, appended to b: 0 written, DECLINE (nothing written: the
 * reference must say it), DEFER (nothing written: redo it holding the GIL), -1 out of memory
 * (or a Python error when b->nogil is 0). */
static int one_into(const uint8_t *s, Py_ssize_t n, Writer w, Buf *b, int check_utf8) {
    Py_ssize_t start = b->n;
    Rd r = {s, s + n};
    int rc = w(&r, b, 0);
    if (rc == 0 && r.p != r.end) rc = DECLINE;
    if (rc == 0 && check_utf8 && !valid_utf8((const uint8_t *)b->p + start, b->n - start)) {
        rc = DECLINE;
    }
    if (rc != 0) b->n = start;
    return rc;
}

/* Flags in the ``declined`` mask. */
#define JSON_DECLINED 1
#define TEXT_DECLINED 2
#define JSON_DEFERRED 4
#define TEXT_DEFERRED 8

/* One column: the payloads' texts one after another in ``b``, ``of`` their n + 1 offsets. */
typedef struct {
    Writer w;
    int check_utf8, declined, deferred;
    Buf b;
    int64_t *of;
} Column;

/* The deferred payloads, holding the GIL: the column rebuilt in order (a payload with a float
 * in it; rare). 0, or -1 with a Python error. */
static int redo_deferred(Column *c, const uint8_t *base, const int64_t *po, const int64_t *ix,
                         Py_ssize_t n, uint8_t *flags) {
    Buf out = {NULL, 0, 0, 0};
    if (grow(&out, c->b.n + 256) < 0) return -1;
    int64_t a = c->of[0]; /* the old start of item j (of[j] is overwritten as we go) */
    for (Py_ssize_t j = 0; j < n; j++) {
        int64_t z = c->of[j + 1];
        if (flags[j] & c->deferred) {
            int64_t k = ix[j];
            int rc = one_into(base + po[k], (Py_ssize_t)(po[k + 1] - po[k]), c->w, &out,
                              c->check_utf8);
            if (rc < 0) {
                PyMem_RawFree(out.p);
                return -1;
            }
            flags[j] = (uint8_t)(flags[j] & ~c->deferred);
            if (rc) flags[j] |= (uint8_t)c->declined;
        } else if (put(&out, c->b.p + a, (Py_ssize_t)(z - a)) < 0) {
            PyMem_RawFree(out.p);
            return -1;
        }
        c->of[j + 1] = (int64_t)out.n;
        a = z;
    }
    PyMem_RawFree(c->b.p);
    c->b = out;
    return 0;
}

PyDoc_STRVAR(payload_columns_doc,
"payload_columns(block, offsets, index, json, text) -> (jsons, json_offsets, texts,\n"
"    text_offsets, declined)\n"
"\n"
"payload_texts in bulk, as Arrow lays out a string column: for each k of index (int64), the\n"
"payload block[offsets[k]:offsets[k + 1]]; jsons its JSON text and texts its one-line text,\n"
"one after another (UTF-8 bytes; the lists not asked for are None), each with the n + 1\n"
"int64 offsets of its items; declined one byte per item, bit 1 when the JSON text and bit 2\n"
"when the one-line text must come from the reference (that item is empty). An empty payload\n"
"is empty and not declined. The GIL is released while the payloads are read.");

PyObject *cinema_payload_columns(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "payload_columns takes 5 arguments");
        return NULL;
    }
    int want[2] = {PyObject_IsTrue(args[3]), PyObject_IsTrue(args[4])};
    if (want[0] < 0 || want[1] < 0) return NULL;
    Py_buffer block, offs, index;
    if (frame_buffers(args, &block, &offs, &index) < 0) return NULL;
    Column cols[2] = {
        {json_value, 0, JSON_DECLINED, JSON_DEFERRED, {NULL, 0, 0, 1}, NULL},
        {text_value, 1, TEXT_DECLINED, TEXT_DEFERRED, {NULL, 0, 0, 1}, NULL},
    };
    PyObject *of_obj[2] = {NULL, NULL}, *data[2] = {NULL, NULL}, *flags_obj = NULL, *out = NULL;
    Py_ssize_t n = index.len / 8, noffs = offs.len / 8;
    const int64_t *ix = index.buf, *po = offs.buf;
    const uint8_t *base = block.buf;
    if ((flags_obj = PyBytes_FromStringAndSize(NULL, n)) == NULL) goto done;
    uint8_t *flags = (uint8_t *)PyBytes_AS_STRING(flags_obj);
    memset(flags, 0, (size_t)n);
    for (int c = 0; c < 2; c++) {
        if (!want[c]) continue;
        if ((of_obj[c] = PyBytes_FromStringAndSize(NULL, 8 * (n + 1))) == NULL) goto done;
        cols[c].of = (int64_t *)PyBytes_AS_STRING(of_obj[c]);
        cols[c].of[0] = 0;
        /* about what the sandbox's payloads take (JSON ~2x the msgpack bytes, text ~1x) */
        cols[c].b.nogil = 0;
        if (grow(&cols[c].b, (c == 0 ? 2 : 1) * block.len + 64) < 0) goto done;
        cols[c].b.nogil = 1;
    }
    int failed = 0, deferred = 0; /* 1: out of memory, 2: an index outside the block */
    int64_t bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < n && !failed; j++) {
        int64_t k = ix[j], a, z;
        if (k < 0 || k + 1 >= noffs) {
            failed = 2;
            bad = k;
            break;
        }
        a = po[k];
        z = po[k + 1]; /* read once: the checks hold for what is used */
        if (a < 0 || a > z || z > block.len) {
            failed = 2;
            bad = k;
            break;
        }
        for (int c = 0; c < 2; c++) {
            if (!want[c]) continue;
            if (z > a) {
                int rc = one_into(base + a, (Py_ssize_t)(z - a), cols[c].w, &cols[c].b,
                                  cols[c].check_utf8);
                if (rc < 0) {
                    failed = 1;
                    break;
                }
                if (rc == DEFER) {
                    flags[j] |= (uint8_t)cols[c].deferred;
                    deferred |= cols[c].deferred;
                } else if (rc) {
                    flags[j] |= (uint8_t)cols[c].declined;
                }
            }
            cols[c].of[j + 1] = (int64_t)cols[c].b.n;
        }
    }
    Py_END_ALLOW_THREADS
    if (failed == 1) {
        PyErr_NoMemory();
        goto done;
    }
    if (failed == 2) {
        PyErr_Format(PyExc_IndexError, "payload %lld is outside the block", (long long)bad);
        goto done;
    }
    for (int c = 0; c < 2; c++) {
        if (!want[c]) continue;
        cols[c].b.nogil = 0;
        if ((deferred & cols[c].deferred) && redo_deferred(&cols[c], base, po, ix, n, flags) < 0) {
            goto done;
        }
        data[c] = PyBytes_FromStringAndSize(cols[c].b.p ? cols[c].b.p : "", cols[c].b.n);
        if (data[c] == NULL) goto done;
    }
    out = PyTuple_Pack(5, data[0] ? data[0] : Py_None, of_obj[0] ? of_obj[0] : Py_None,
                       data[1] ? data[1] : Py_None, of_obj[1] ? of_obj[1] : Py_None, flags_obj);
done:
    for (int c = 0; c < 2; c++) {
        Py_XDECREF(of_obj[c]);
        Py_XDECREF(data[c]);
        PyMem_RawFree(cols[c].b.p);
    }
    Py_XDECREF(flags_obj);
    PyBuffer_Release(&block);
    PyBuffer_Release(&offs);
    PyBuffer_Release(&index);
    return out;
}

const char *cinema_payload_columns_doc = payload_columns_doc;
