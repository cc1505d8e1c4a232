/* A growable byte buffer: every write is bounds-checked (buf_reserve) before it happens.
 *
 * A buffer may start on caller-provided storage (the C stack) and moves to the heap when it
 * grows past it; buf_free releases only heap memory.
 */
#ifndef CINEMA_BUFFER_H
#define CINEMA_BUFFER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
    char *inline_mem; /* storage that is not ours to free, or NULL */
    Py_ssize_t inline_cap;
} Buf;

static inline void buf_init(Buf *b, char *inline_mem, Py_ssize_t inline_cap) {
    b->data = inline_mem;
    b->len = 0;
    b->cap = inline_mem ? inline_cap : 0;
    b->inline_mem = inline_mem;
    b->inline_cap = inline_mem ? inline_cap : 0;
}

/* Release heap memory (if any) and empty the buffer. */
static inline void buf_free(Buf *b) {
    if (b->data != NULL && b->data != b->inline_mem) {
        PyMem_Free(b->data);
    }
    b->data = b->inline_mem;
    b->cap = b->inline_cap;
    b->len = 0;
}

/* Make room for `extra` more bytes. Returns 0, or -1 with MemoryError set. */
static int buf_grow(Buf *b, Py_ssize_t extra) {
    if (extra < 0 || b->len > PY_SSIZE_T_MAX - extra) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t need = b->len + extra;
    Py_ssize_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *mem;
    if (b->data == NULL || b->data == b->inline_mem) {
        mem = (char *)PyMem_Malloc((size_t)cap);
        if (mem != NULL && b->len > 0) {
            memcpy(mem, b->data, (size_t)b->len);
        }
    } else {
        mem = (char *)PyMem_Realloc(b->data, (size_t)cap);
    }
    if (mem == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = mem;
    b->cap = cap;
    return 0;
}

static inline int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (extra <= b->cap - b->len) {
        return 0;
    }
    return buf_grow(b, extra);
}

static inline int buf_put(Buf *b, const void *src, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) {
        return -1;
    }
    if (n > 0) {
        memcpy(b->data + b->len, src, (size_t)n);
        b->len += n;
    }
    return 0;
}

static inline int buf_byte(Buf *b, unsigned char c) {
    if (buf_reserve(b, 1) < 0) {
        return -1;
    }
    b->data[b->len++] = (char)c;
    return 0;
}

/* Insert n bytes at position pos (0 <= pos <= len), moving what follows. */
static inline int buf_insert(Buf *b, Py_ssize_t pos, const void *src, Py_ssize_t n) {
    if (pos < 0 || pos > b->len || buf_reserve(b, n) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_SystemError, "cinema buffer: insert out of range");
        }
        return -1;
    }
    memmove(b->data + pos + n, b->data + pos, (size_t)(b->len - pos));
    memcpy(b->data + pos, src, (size_t)n);
    b->len += n;
    return 0;
}

/* Replace the `old` bytes at pos with the `n` bytes of src (0 <= pos, pos + old <= len). */
static inline int buf_replace(Buf *b, Py_ssize_t pos, Py_ssize_t old, const void *src,
                              Py_ssize_t n) {
    if (pos < 0 || old < 0 || pos > b->len - old) {
        PyErr_SetString(PyExc_SystemError, "cinema buffer: replace out of range");
        return -1;
    }
    if (n > old && buf_reserve(b, n - old) < 0) {
        return -1;
    }
    memmove(b->data + pos + n, b->data + pos + old, (size_t)(b->len - pos - old));
    memcpy(b->data + pos, src, (size_t)n);
    b->len += n - old;
    return 0;
}

static inline void put_be16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline void put_be64(unsigned char *p, uint64_t v) {
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static inline void put_le32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void put_le64(unsigned char *p, uint64_t v) {
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t get_le64(const unsigned char *p) {
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
           ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

#endif /* CINEMA_BUFFER_H */
