//go:build amd64 && !purego

#include "textflag.h"

// SHA-256 with the SHA extensions (SHA-NI), one or two messages at a time.
//
// The rounds instruction, SHA256RNDS2, waits several cycles for its own
// previous result, so one message keeps the unit mostly idle. Hashing two
// independent messages with their instructions interleaved fills those
// cycles: on the machines we measured, two messages take about 1.4 times
// as long as one, not twice.
//
// A lane is one message: its state as ABEF and CDGH (the order the
// rounds instruction wants) and its four message quads. The round
// constant plus message quad goes in X0, which SHA256RNDS2 reads
// implicitly; X13 is scratch, X14 the byte-swap mask. X15 is left
// alone: Go's internal ABI keeps it zero.

// The 64 round constants (FIPS 180-4, section 4.2.2), four per 16 bytes.
DATA k256<>+0x00(SB)/8, $0x71374491428a2f98
DATA k256<>+0x08(SB)/8, $0xe9b5dba5b5c0fbcf
DATA k256<>+0x10(SB)/8, $0x59f111f13956c25b
DATA k256<>+0x18(SB)/8, $0xab1c5ed5923f82a4
DATA k256<>+0x20(SB)/8, $0x12835b01d807aa98
DATA k256<>+0x28(SB)/8, $0x550c7dc3243185be
DATA k256<>+0x30(SB)/8, $0x80deb1fe72be5d74
DATA k256<>+0x38(SB)/8, $0xc19bf1749bdc06a7
DATA k256<>+0x40(SB)/8, $0xefbe4786e49b69c1
DATA k256<>+0x48(SB)/8, $0x240ca1cc0fc19dc6
DATA k256<>+0x50(SB)/8, $0x4a7484aa2de92c6f
DATA k256<>+0x58(SB)/8, $0x76f988da5cb0a9dc
DATA k256<>+0x60(SB)/8, $0xa831c66d983e5152
DATA k256<>+0x68(SB)/8, $0xbf597fc7b00327c8
DATA k256<>+0x70(SB)/8, $0xd5a79147c6e00bf3
DATA k256<>+0x78(SB)/8, $0x1429296706ca6351
DATA k256<>+0x80(SB)/8, $0x2e1b213827b70a85
DATA k256<>+0x88(SB)/8, $0x53380d134d2c6dfc
DATA k256<>+0x90(SB)/8, $0x766a0abb650a7354
DATA k256<>+0x98(SB)/8, $0x92722c8581c2c92e
DATA k256<>+0xa0(SB)/8, $0xa81a664ba2bfe8a1
DATA k256<>+0xa8(SB)/8, $0xc76c51a3c24b8b70
DATA k256<>+0xb0(SB)/8, $0xd6990624d192e819
DATA k256<>+0xb8(SB)/8, $0x106aa070f40e3585
DATA k256<>+0xc0(SB)/8, $0x1e376c0819a4c116
DATA k256<>+0xc8(SB)/8, $0x34b0bcb52748774c
DATA k256<>+0xd0(SB)/8, $0x4ed8aa4a391c0cb3
DATA k256<>+0xd8(SB)/8, $0x682e6ff35b9cca4f
DATA k256<>+0xe0(SB)/8, $0x78a5636f748f82ee
DATA k256<>+0xe8(SB)/8, $0x8cc7020884c87814
DATA k256<>+0xf0(SB)/8, $0xa4506ceb90befffa
DATA k256<>+0xf8(SB)/8, $0xc67178f2bef9a3f7
GLOBL k256<>(SB), RODATA|NOPTR, $256

// Swaps the bytes of each 32-bit word: message words are big-endian.
DATA bswap<>+0x00(SB)/8, $0x0405060700010203
DATA bswap<>+0x08(SB)/8, $0x0c0d0e0f08090a0b
GLOBL bswap<>(SB), RODATA|NOPTR, $16

// Loads the state at H as ABEF into S0 and CDGH into S1.
#define LOADSTATE(H, S0, S1) \
	MOVOU   (H), S0; \
	MOVOU   16(H), S1; \
	PSHUFD  $0xb1, S0, S0; \
	PSHUFD  $0x1b, S1, S1; \
	MOVO    S0, X13; \
	PALIGNR $0x08, S1, S0; \
	PBLENDW $0xf0, X13, S1

// Stores S0 (ABEF) and S1 (CDGH) back as the eight words at H.
#define STORESTATE(H, S0, S1) \
	PSHUFD  $0x1b, S0, S0; \
	PSHUFD  $0xb1, S1, S1; \
	MOVO    S0, X13; \
	PBLENDW $0xf0, S1, S0; \
	PALIGNR $0x08, X13, S1; \
	MOVOU   S0, (H); \
	MOVOU   S1, 16(H)

// Four rounds with the message quad M and the constants at K(AX). Memory
// operands are loaded first: SSE arithmetic faults on unaligned ones.
#define ROUNDS(K, M, S0, S1) \
	MOVOU       K(AX), X0; \
	PADDD       M, X0; \
	SHA256RNDS2 X0, S0, S1; \
	PSHUFD      $0x0e, X0, X0; \
	SHA256RNDS2 X0, S1, S0

// Loads message quad M from OFF(P), big-endian.
#define LOADQ(P, OFF, M) \
	MOVOU  OFF(P), M; \
	PSHUFB X14, M

// The schedule's two steps: NEXT (three quads behind CUR) becomes the
// quad after CUR, with PREV the quad before CUR; SHA256MSG1 then starts
// PREV's turn.
#define MSG2(CUR, PREV, NEXT) \
	MOVO       CUR, X13; \
	PALIGNR    $0x04, PREV, X13; \
	PADDD      X13, NEXT; \
	SHA256MSG2 CUR, NEXT

#define MSG1(CUR, PREV) \
	SHA256MSG1 CUR, PREV

// One lane's 64 rounds over the block at P: the rounds of quad g use
// message quad M(g mod 4). The state before is saved at SAVE(SP) and
// added back after; SP is only 8-byte aligned.
#define BLOCK(P, S0, S1, M0, M1, M2, M3, SAVE) \
	MOVOU S0, SAVE(SP); \
	MOVOU S1, SAVE+16(SP); \
	LOADQ(P, 0, M0); ROUNDS(0x00, M0, S0, S1); \
	LOADQ(P, 16, M1); ROUNDS(0x10, M1, S0, S1); MSG1(M1, M0); \
	LOADQ(P, 32, M2); ROUNDS(0x20, M2, S0, S1); MSG1(M2, M1); \
	LOADQ(P, 48, M3); ROUNDS(0x30, M3, S0, S1); MSG2(M3, M2, M0); MSG1(M3, M2); \
	ROUNDS(0x40, M0, S0, S1); MSG2(M0, M3, M1); MSG1(M0, M3); \
	ROUNDS(0x50, M1, S0, S1); MSG2(M1, M0, M2); MSG1(M1, M0); \
	ROUNDS(0x60, M2, S0, S1); MSG2(M2, M1, M3); MSG1(M2, M1); \
	ROUNDS(0x70, M3, S0, S1); MSG2(M3, M2, M0); MSG1(M3, M2); \
	ROUNDS(0x80, M0, S0, S1); MSG2(M0, M3, M1); MSG1(M0, M3); \
	ROUNDS(0x90, M1, S0, S1); MSG2(M1, M0, M2); MSG1(M1, M0); \
	ROUNDS(0xa0, M2, S0, S1); MSG2(M2, M1, M3); MSG1(M2, M1); \
	ROUNDS(0xb0, M3, S0, S1); MSG2(M3, M2, M0); MSG1(M3, M2); \
	ROUNDS(0xc0, M0, S0, S1); MSG2(M0, M3, M1); MSG1(M0, M3); \
	ROUNDS(0xd0, M1, S0, S1); MSG2(M1, M0, M2); \
	ROUNDS(0xe0, M2, S0, S1); MSG2(M2, M1, M3); \
	ROUNDS(0xf0, M3, S0, S1); \
	MOVOU SAVE(SP), X13; \
	PADDD X13, S0; \
	MOVOU SAVE+16(SP), X13; \
	PADDD X13, S1

// Both lanes' 64 rounds over the blocks at SI and DI, interleaved four
// rounds at a time, the states saved at 0(SP) and 32(SP).
#define BLOCK2 \
	MOVOU X1, 0(SP); \
	MOVOU X2, 16(SP); \
	MOVOU X7, 32(SP); \
	MOVOU X8, 48(SP); \
	LOADQ(SI, 0, X3); ROUNDS(0x00, X3, X1, X2); \
	LOADQ(DI, 0, X9); ROUNDS(0x00, X9, X7, X8); \
	LOADQ(SI, 16, X4); ROUNDS(0x10, X4, X1, X2); MSG1(X4, X3); \
	LOADQ(DI, 16, X10); ROUNDS(0x10, X10, X7, X8); MSG1(X10, X9); \
	LOADQ(SI, 32, X5); ROUNDS(0x20, X5, X1, X2); MSG1(X5, X4); \
	LOADQ(DI, 32, X11); ROUNDS(0x20, X11, X7, X8); MSG1(X11, X10); \
	LOADQ(SI, 48, X6); ROUNDS(0x30, X6, X1, X2); MSG2(X6, X5, X3); MSG1(X6, X5); \
	LOADQ(DI, 48, X12); ROUNDS(0x30, X12, X7, X8); MSG2(X12, X11, X9); MSG1(X12, X11); \
	ROUNDS(0x40, X3, X1, X2); MSG2(X3, X6, X4); MSG1(X3, X6); \
	ROUNDS(0x40, X9, X7, X8); MSG2(X9, X12, X10); MSG1(X9, X12); \
	ROUNDS(0x50, X4, X1, X2); MSG2(X4, X3, X5); MSG1(X4, X3); \
	ROUNDS(0x50, X10, X7, X8); MSG2(X10, X9, X11); MSG1(X10, X9); \
	ROUNDS(0x60, X5, X1, X2); MSG2(X5, X4, X6); MSG1(X5, X4); \
	ROUNDS(0x60, X11, X7, X8); MSG2(X11, X10, X12); MSG1(X11, X10); \
	ROUNDS(0x70, X6, X1, X2); MSG2(X6, X5, X3); MSG1(X6, X5); \
	ROUNDS(0x70, X12, X7, X8); MSG2(X12, X11, X9); MSG1(X12, X11); \
	ROUNDS(0x80, X3, X1, X2); MSG2(X3, X6, X4); MSG1(X3, X6); \
	ROUNDS(0x80, X9, X7, X8); MSG2(X9, X12, X10); MSG1(X9, X12); \
	ROUNDS(0x90, X4, X1, X2); MSG2(X4, X3, X5); MSG1(X4, X3); \
	ROUNDS(0x90, X10, X7, X8); MSG2(X10, X9, X11); MSG1(X10, X9); \
	ROUNDS(0xa0, X5, X1, X2); MSG2(X5, X4, X6); MSG1(X5, X4); \
	ROUNDS(0xa0, X11, X7, X8); MSG2(X11, X10, X12); MSG1(X11, X10); \
	ROUNDS(0xb0, X6, X1, X2); MSG2(X6, X5, X3); MSG1(X6, X5); \
	ROUNDS(0xb0, X12, X7, X8); MSG2(X12, X11, X9); MSG1(X12, X11); \
	ROUNDS(0xc0, X3, X1, X2); MSG2(X3, X6, X4); MSG1(X3, X6); \
	ROUNDS(0xc0, X9, X7, X8); MSG2(X9, X12, X10); MSG1(X9, X12); \
	ROUNDS(0xd0, X4, X1, X2); MSG2(X4, X3, X5); \
	ROUNDS(0xd0, X10, X7, X8); MSG2(X10, X9, X11); \
	ROUNDS(0xe0, X5, X1, X2); MSG2(X5, X4, X6); \
	ROUNDS(0xe0, X11, X7, X8); MSG2(X11, X10, X12); \
	ROUNDS(0xf0, X6, X1, X2); \
	ROUNDS(0xf0, X12, X7, X8); \
	MOVOU 0(SP), X13; \
	PADDD X13, X1; \
	MOVOU 16(SP), X13; \
	PADDD X13, X2; \
	MOVOU 32(SP), X13; \
	PADDD X13, X7; \
	MOVOU 48(SP), X13; \
	PADDD X13, X8

// func blocks1(h *[8]uint32, p *byte, n int)
TEXT ·blocks1(SB), NOSPLIT, $32-24
	MOVQ h+0(FP), BX
	MOVQ p+8(FP), SI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JZ   done1
	LEAQ k256<>(SB), AX
	MOVOU bswap<>(SB), X14
	LOADSTATE(BX, X1, X2)

loop1:
	BLOCK(SI, X1, X2, X3, X4, X5, X6, 0)
	ADDQ $64, SI
	DECQ CX
	JNZ  loop1
	STORESTATE(BX, X1, X2)

done1:
	RET

// func blocks2(ha, hb *[8]uint32, pa, pb *byte, n int)
TEXT ·blocks2(SB), NOSPLIT, $64-40
	MOVQ ha+0(FP), BX
	MOVQ hb+8(FP), DX
	MOVQ pa+16(FP), SI
	MOVQ pb+24(FP), DI
	MOVQ n+32(FP), CX
	TESTQ CX, CX
	JZ   done2
	LEAQ k256<>(SB), AX
	MOVOU bswap<>(SB), X14
	LOADSTATE(BX, X1, X2)
	LOADSTATE(DX, X7, X8)

loop2:
	BLOCK2
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop2
	STORESTATE(BX, X1, X2)
	STORESTATE(DX, X7, X8)

done2:
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET
