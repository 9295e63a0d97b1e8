/*
 * ftrace_text.pml: rewriting a pad while threads execute it
 * (lps_ftrace_text.c, docs/FTRACE.md "The protocol").
 *
 * The pad is five bytes b[0..4]. Threads execute it instruction by
 * instruction: at pc k they fetch b[k]; NOP goes to k+1; JMP (only
 * meaningful at k = 0) fetches its four displacement bytes and jumps to the
 * trampoline, which returns past the pad; INT3 traps to the library's
 * handler, which resumes past the pad when k is a pad's start (any other
 * int3 is not ours and is an error here). -DNOP5: the pad is one five-byte
 * NOP (clang's), decoded whole.
 *
 * Cross-modifying code without serialisation: a fetch of b[k] may return
 * any value b[k] held since the fetching thread's last serialisation
 * (Intel SDM 8.1.3: a core may execute stale or partly updated code), so
 * each thread keeps, per byte, the set of values it may still see
 * (`seen`, a bit mask); sync_cores() (membarrier SYNC_CORE) cuts every
 * thread's set down to the current value.
 *
 * Properties (assertions):
 *   P1 no torn instruction: every executed instruction is a whole old or a
 *      whole new one (a JMP's displacement is the stub's, 0x90909090; no
 *      displacement byte is executed as an opcode);
 *   P2 the first byte is the only one whose int3 the handler sees;
 *   P3 once arming has completed (its last serialisation), every call that
 *      starts runs the trampoline, and once disarming has, none does: the
 *      engine counts from the arming's return on.
 *
 * Threads start anywhere inside the pad (a thread already inside when the
 * writer begins) and then make calls from its start; the writer arms,
 * disarms and arms again.
 *
 * Variants (each a negative control, expected to fail):
 *   -DGENERIC_TAIL   the jmp's displacement is not the pad's own NOPs
 *                    (a trampoline at an arbitrary address), written by the
 *                    text_poke_bp order (int3, tail, first byte) without
 *                    moving threads out of the pad: a thread inside the
 *                    one-byte NOPs executes a displacement byte (P1);
 *   -DFIRST_BYTE_FIRST  as GENERIC_TAIL with the first byte written before
 *                    the tail: a torn jmp (P1);
 *   -DNO_SYNC        no serialisation after the last byte: a call started
 *                    after arming returned still runs the NOPs (P3).
 * And one control expected to pass: -DGENERIC_TAIL -DNOP5, the text_poke_bp
 * order with an arbitrary displacement is safe when the pad is one
 * five-byte NOP (the kernel's pad; GCC emits five one-byte NOPs), so that no
 * thread can be inside it. With -DFIRST_BYTE_FIRST it fails again (P1).
 */

#define NOP  1
#define INT3 2
#define JMP 4
#define REL  8   /* a displacement byte that is not 0x90 (GENERIC_TAIL only) */
#define THREADS 2
#define CALLS 2  /* calls from the pad's start, after the first one */

byte b[5] = NOP;
byte seen[THREADS * 5] = NOP;   /* per thread and byte: the values it may fetch */
/* 0 writing; 1 arming has returned; 2 disarming has returned */
byte done = 2;

inline write(k, v) {
    atomic {
        b[k] = v;
        seen[k] = seen[k] | v;
        seen[5 + k] = seen[5 + k] | v;
    }
}

inline sync_cores() {
    atomic {
        byte i = 0;
        do
        :: i < THREADS * 5 -> seen[i] = b[i % 5]; i++
        :: else -> break
        od
    }
}

/* A fetch: any value the thread may still see. */
inline fetch(t, k, v) {
    if
    :: (seen[(t) * 5 + (k)] & NOP) -> v = NOP
    :: (seen[(t) * 5 + (k)] & INT3) -> v = INT3
    :: (seen[(t) * 5 + (k)] & JMP) -> v = JMP
    :: (seen[(t) * 5 + (k)] & REL) -> v = REL
    fi
}

#ifdef GENERIC_TAIL
#define TAIL_JMP REL
#else
#define TAIL_JMP NOP
#endif

inline set_armed(first) {
    write(0, INT3);
    sync_cores();
#ifdef FIRST_BYTE_FIRST
    write(0, first);
    sync_cores();
#endif
    /* The tail: the jmp's displacement, or NOPs. Unchanged unless GENERIC_TAIL. */
    write(1, (first == JMP -> TAIL_JMP : NOP));
    write(2, (first == JMP -> TAIL_JMP : NOP));
    write(3, (first == JMP -> TAIL_JMP : NOP));
    write(4, (first == JMP -> TAIL_JMP : NOP));
    sync_cores();
#ifndef FIRST_BYTE_FIRST
    write(0, first);
#endif
#ifndef NO_SYNC
    sync_cores();
#endif
}

active proctype writer() {
    done = 0; set_armed(JMP); done = 1;
    done = 0; set_armed(NOP); done = 2;
    done = 0; set_armed(JMP); done = 1
}

/* An instruction is fetched in one step (an interrupt, and so a
 * serialisation, comes between instructions), each of its bytes any value
 * the thread may still see. */
inline fetch_tail(me, v, want) {
    i = 1;
    do
    :: i < 5 -> fetch(me, i, v); assert(v == want); i++   /* P1: the whole instruction */
    :: else -> break
    od
}

active [THREADS] proctype thread() {
    byte pc, v, i, calls = 0;
    byte me = _pid - 1;
    /* the first execution starts anywhere in the pad */
#ifndef NOP5
    if
    :: pc = 0 :: pc = 1 :: pc = 2 :: pc = 3 :: pc = 4
    fi;
#endif
    do
    :: pc == 0 ->
        atomic {
            fetch(me, 0, v);
            assert(done != 1 || v == JMP);   /* P3: armed, every call runs the trampoline */
            assert(done != 2 || v == NOP);    /* P3: disarmed, none does */
            if
#ifdef NOP5
            :: v == NOP -> fetch_tail(me, v, NOP); pc = 5
#else
            :: v == NOP -> pc++
#endif
            :: v == INT3 -> pc = 5            /* the handler resumes after the pad */
            :: v == JMP -> fetch_tail(me, v, TAIL_JMP); pc = 5   /* the trampoline returns past the pad */
            :: v == REL -> assert(false)      /* P1 */
            fi
        }
    :: pc > 0 && pc < 5 ->
        fetch(me, pc, v);
        assert(v != INT3);            /* P2: only the first byte is ever an int3 */
        assert(v == NOP);             /* P1: no jmp decoded mid-pad, no displacement byte as an opcode */
        pc++
    :: pc == 5 ->
        if
        :: calls < CALLS -> calls++; pc = 0
        :: else -> break
        fi
    od
}
