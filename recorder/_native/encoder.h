/* The native payload encoder: the twin of recorder/payload/_walk.py (same bytes, always). */
#ifndef CINEMA_ENCODER_H
#define CINEMA_ENCODER_H

#include "buffer.h"
#include "cinema_native.h"

/* What setup() hands over from Python: the types to recognise and the names to use. */
typedef struct {
    int ready;
    PyTypeObject *pid_type, *ref_type, *packed_type, *ext_type, *batch_type, *enum_type;
    Py_ssize_t pid_off, ref_off, packed_off; /* slot offsets of Pid.n, Ref.n, Packed.data */
    PyObject *field_marker;                  /* dataclasses._FIELD */
    PyObject *descr_module, *descr_qualname; /* type.__dict__["__module__" / "__qualname__"] */
    PyObject *monotonic_ns;                  /* time.monotonic_ns, read in C when it is the clock */
    PyTypeObject *limits_type;
    PyObject *default_limits;
    CinemaLimits default_lim;
    Py_ssize_t bigint_max_bits;
    PyObject *s_dict, *s_name_, *s_value_, *s_field_type, *s_fields, *s_dataclass_fields;
    PyObject *s_builtins, *s_main, *s_empty, *s_ellipsis;
    /* one-entry cache of the last Limits object parsed */
    PyObject *last_limits;
    CinemaLimits last_lim;
} CinemaState;

extern CinemaState cinema_state;

/* Read a recorder.payload.Limits; NULL or None mean the defaults (0, or -1 with an
 * exception set). cinema_limits_read always reads the fields. */
int cinema_limits_from(PyObject *obj, CinemaLimits *out);
int cinema_limits_read(PyObject *obj, CinemaLimits *out);

/* Append the payload encoding of `value` to `out` (see cinema_native.h). */
int cinema_encode_into(Buf *out, PyObject *value, const CinemaLimits *lim);

/* mailbox_cells(envelopes, limit, limits): a sandbox mailbox's keyframe cells (encoder.c). */
PyObject *cinema_mailbox_cells(PyObject *self, PyObject *const *args, Py_ssize_t nargs);

extern PyTypeObject CinemaEventBuffer_Type;
extern PyTypeObject CinemaMonotonicClock_Type;

#endif /* CINEMA_ENCODER_H */
