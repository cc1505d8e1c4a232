/* scan(data, max_nesting, hash_check): a look at payload bytes before they are decoded.
 *
 * recorder.payload._decode refuses values nested deeper than MAX_NESTING containers and maps
 * whose keys were chosen to share one hash. Checked on the decoded value, that costs a walk
 * over every container in Python (~20 ms for a 6,000-process keyframe) and a Python call per
 * map. This scanner reads the msgpack bytes once, in C, and answers:
 *
 *   n >= 0   the value decodes to at most n levels of containers (n <= max_nesting), and no
 *            map has more than hash_check keys that could collide without bound (extension
 *            values, floats): decode it without the per-map hook and without the walk;
 *   -1       nested deeper than max_nesting;
 *   -2       unsure (malformed bytes, extensions nested past MAX_EXT_LEVELS, deep map keys, a
 *            map with many extension or float keys): take the careful path, which decides.
 *
 * Levels are counted on the decoded value, as _decode._too_deep counts them: a list, map,
 * tuple, set or frozenset is a level; a Record is one level over its field values, an
 * EnumValue over its value, a Truncated over its preview; map keys, Pid, Ref, Opaque, big
 * integers and unknown extensions add none (the decoder unpacks the bodies of the first four
 * with every check: they are a few bytes). The scanner never recurses more than
 * max_nesting + MAX_EXT_LEVELS + MAX_KEY_LEVELS calls deep, whatever the bytes say.
 */
#include "scan.h"

#include <stdint.h>
#include <string.h>

enum {
    EXT_TUPLE = 1, EXT_SET = 2, EXT_FROZENSET = 3, EXT_RECORD = 4, EXT_ENUM = 5,
    EXT_TRUNCATED = 9,
};
#define MAX_EXT_LEVELS 64 /* recorder.payload MAX_DECODE_DEPTH: the decoder refuses more */
#define MAX_KEY_LEVELS 64 /* keys nested deeper than this: let the careful path decide */

#define TOO_DEEP (-1)
#define UNSURE (-2)

typedef struct {
    const uint8_t *p, *end;
    int limit;      /* max_nesting */
    int deepest;    /* the most levels seen on one path */
    Py_ssize_t hash_check;
} Scanner;

static int value(Scanner *s, int level, int ext_level);
static int key(Scanner *s, int key_level, int ext_level, int *collidable);

static int need(Scanner *s, size_t n) {
    return (size_t)(s->end - s->p) >= n ? 0 : UNSURE;
}

static uint64_t be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Reads a length of n bytes at s->p (after the type byte). */
static int length(Scanner *s, int n, uint64_t *out) {
    if (need(s, (size_t)n) < 0) {
        return UNSURE;
    }
    *out = be(s->p, n);
    s->p += n;
    return 0;
}

static int skip(Scanner *s, uint64_t n) {
    if ((uint64_t)(s->end - s->p) < n) {
        return UNSURE;
    }
    s->p += n;
    return 0;
}

/* A container level at `level` (its own level number): note it, refuse past the limit. */
static int enter(Scanner *s, int level) {
    if (level > s->limit) {
        return TOO_DEEP;
    }
    if (level > s->deepest) {
        s->deepest = level;
    }
    return 0;
}

/* How an object starts: its kind and, for containers / strings / extensions, its size.
 * kind: 0 scalar (already skipped), 1 array of n, 2 map of n, 3 ext of n bytes and type t. */
static int head(Scanner *s, int *kind, uint64_t *n, int8_t *t, int *is_float) {
    if (need(s, 1) < 0) {
        return UNSURE;
    }
    uint8_t b = *s->p++;
    *kind = 0;
    *is_float = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        return 0;
    }
    if (b >= 0x80 && b <= 0x8f) {
        *kind = 2, *n = b & 0x0f;
        return 0;
    }
    if (b >= 0x90 && b <= 0x9f) {
        *kind = 1, *n = b & 0x0f;
        return 0;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        return skip(s, b & 0x1f);
    }
    uint64_t len;
    switch (b) {
    case 0xc4: case 0xd9: /* bin8, str8 */
        return length(s, 1, &len) < 0 ? UNSURE : skip(s, len);
    case 0xc5: case 0xda:
        return length(s, 2, &len) < 0 ? UNSURE : skip(s, len);
    case 0xc6: case 0xdb:
        return length(s, 4, &len) < 0 ? UNSURE : skip(s, len);
    case 0xca: *is_float = 1; return skip(s, 4);
    case 0xcb: *is_float = 1; return skip(s, 8);
    case 0xcc: case 0xd0: return skip(s, 1);
    case 0xcd: case 0xd1: return skip(s, 2);
    case 0xce: case 0xd2: return skip(s, 4);
    case 0xcf: case 0xd3: return skip(s, 8);
    case 0xdc: *kind = 1; return length(s, 2, n);
    case 0xdd: *kind = 1; return length(s, 4, n);
    case 0xde: *kind = 2; return length(s, 2, n);
    case 0xdf: *kind = 2; return length(s, 4, n);
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        *kind = 3, *n = (uint64_t)1 << (b - 0xd4);
        break;
    case 0xc7:
        *kind = 3;
        if (length(s, 1, n) < 0) return UNSURE;
        break;
    case 0xc8:
        *kind = 3;
        if (length(s, 2, n) < 0) return UNSURE;
        break;
    case 0xc9:
        *kind = 3;
        if (length(s, 4, n) < 0) return UNSURE;
        break;
    default: /* 0xc1: never used */
        return UNSURE;
    }
    if (need(s, 1) < 0) {
        return UNSURE;
    }
    *t = (int8_t)*s->p++;
    return need(s, (size_t)*n);
}

/* The items of a map of n entries whose own level is `level`: keys (not levels), values. */
static int map_items(Scanner *s, uint64_t n, int level, int ext_level) {
    Py_ssize_t collidable = 0;
    for (uint64_t i = 0; i < n; i++) {
        int c = 0;
        int r = key(s, 0, ext_level, &c);
        if (r < 0) {
            return r;
        }
        collidable += c;
        if ((r = value(s, level, ext_level)) < 0) {
            return r;
        }
    }
    return collidable > s->hash_check ? UNSURE : 0;
}

/* The bytes of an extension's payload as one msgpack object, scanned by `inner`. */
static int ext_body(Scanner *s, uint64_t n, int8_t t, int level, int ext_level) {
    const uint8_t *stop = s->p + n, *outer_end = s->end;
    if (t < EXT_TUPLE || t > EXT_TRUNCATED || t == 6 || t == 7 || t == 8) {
        s->p = stop; /* a leaf: Pid, Ref, Opaque, big integer, unknown or timestamp */
        return 0;
    }
    if (ext_level >= MAX_EXT_LEVELS) {
        return UNSURE;
    }
    s->end = stop;
    int kind, is_float, r;
    uint64_t m;
    int8_t inner_t;
    if (t <= EXT_FROZENSET) { /* a list that becomes the tuple / set: that list is the level */
        r = value(s, level - 1, ext_level + 1);
    } else if ((r = head(s, &kind, &m, &inner_t, &is_float)) < 0) {
        /* fall through with r */
    } else if (kind != 1 || m != (t == EXT_RECORD ? 2u : 3u)) {
        r = UNSURE; /* malformed: the decoder refuses it */
    } else if (t == EXT_RECORD) { /* [name, {field: value}]: one level over the values */
        int c = 0;
        r = key(s, 0, ext_level + 1, &c);
        if (r == 0 && (r = head(s, &kind, &m, &inner_t, &is_float)) == 0) {
            r = kind == 2 ? map_items(s, m, level, ext_level + 1) : UNSURE;
        }
    } else { /* enum [name, member, value], truncated [what, size, preview] */
        int c = 0;
        r = key(s, 0, ext_level + 1, &c);
        if (r == 0) {
            r = key(s, 0, ext_level + 1, &c);
        }
        if (r == 0) {
            r = value(s, level, ext_level + 1);
        }
    }
    if (r == 0 && s->p != stop) {
        r = UNSURE; /* extra bytes in the extension: the decoder refuses them */
    }
    s->end = outer_end;
    s->p = stop;
    return r;
}

/* One object as a map key or a name: no levels, but the recursion is bounded. *collidable
 * tells whether the key's hash could be chosen to collide without bound. */
static int key(Scanner *s, int key_level, int ext_level, int *collidable) {
    int kind, is_float, r;
    uint64_t n;
    int8_t t;
    if ((r = head(s, &kind, &n, &t, &is_float)) < 0) {
        return r;
    }
    *collidable = is_float || kind == 3;
    if (kind == 0) {
        return 0;
    }
    if (key_level >= MAX_KEY_LEVELS) {
        return UNSURE;
    }
    if (kind == 3) {
        const uint8_t *stop = s->p + n, *outer_end = s->end;
        if (t < EXT_TUPLE || t > EXT_TRUNCATED || ext_level >= MAX_EXT_LEVELS) {
            s->p = stop;
            return t < EXT_TUPLE || t > EXT_TRUNCATED ? 0 : UNSURE;
        }
        int c;
        s->end = stop;
        r = key(s, key_level + 1, ext_level + 1, &c);
        if (r == 0 && s->p != stop) {
            r = UNSURE;
        }
        s->end = outer_end;
        s->p = stop;
        return r;
    }
    /* a list or map inside a key or name: the decoder builds it before it finds it
     * unhashable, so its maps are checked like any other */
    Py_ssize_t keys = 0;
    uint64_t items = kind == 2 ? 2 * n : n;
    for (uint64_t i = 0; i < items; i++) {
        int c;
        if ((r = key(s, key_level + 1, ext_level, &c)) < 0) {
            return r;
        }
        keys += kind == 2 && i % 2 == 0 && c;
    }
    return keys > s->hash_check ? UNSURE : 0;
}

/* One object whose parent's level is `level`. */
static int value(Scanner *s, int level, int ext_level) {
    int kind, is_float, r;
    uint64_t n;
    int8_t t;
    if ((r = head(s, &kind, &n, &t, &is_float)) < 0) {
        return r;
    }
    switch (kind) {
    case 1:
        if ((r = enter(s, level + 1)) < 0) {
            return r;
        }
        for (uint64_t i = 0; i < n; i++) {
            if ((r = value(s, level + 1, ext_level)) < 0) {
                return r;
            }
        }
        return 0;
    case 2:
        if ((r = enter(s, level + 1)) < 0) {
            return r;
        }
        return map_items(s, n, level + 1, ext_level);
    case 3:
        if (t >= EXT_RECORD && t <= EXT_TRUNCATED && t != 6 && t != 7 && t != 8) {
            if ((r = enter(s, level + 1)) < 0) { /* a Record, EnumValue or Truncated */
                return r;
            }
            return ext_body(s, n, t, level + 1, ext_level);
        }
        return ext_body(s, n, t, level + 1, ext_level);
    default:
        return 0;
    }
}

PyObject *cinema_scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "scan(data, max_nesting, hash_check)");
        return NULL;
    }
    long limit = PyLong_AsLong(args[1]);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t hash_check = PyLong_AsSsize_t(args[2]);
    if (hash_check == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (limit < 0 || limit > 100000) {
        PyErr_SetString(PyExc_ValueError, "max_nesting out of range");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Scanner s = {(const uint8_t *)view.buf, (const uint8_t *)view.buf + view.len, (int)limit, 0,
                 hash_check};
    int r = view.len ? value(&s, 0, 0) : 0;
    if (r == 0 && s.p != s.end) {
        r = UNSURE; /* trailing bytes: the decoder refuses them */
    }
    PyBuffer_Release(&view);
    return PyLong_FromLong(r < 0 ? r : s.deepest);
}
