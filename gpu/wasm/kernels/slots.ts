/**
 * Parameter-block layout shared by the AssemblyScript kernels and their TypeScript drivers: a
 * kernel receives one pointer to 32-bit slots, so host and kernel must agree on every index.
 * Plain untyped constants, so the file compiles both as AssemblyScript and as Deno TypeScript.
 */

/** Work-item counter the threads draw from (the host zeroes it before each dispatch). */
export const COUNTER = 0;
/** Per-thread workspace: base pointer and bytes per thread. */
export const WS_PTR = 1;
export const WS_BYTES = 2;

// --- GEMM operands: A(m, k) and B(k, n) ---
export const A_KIND = 3;
export const A_PTR = 4;
export const A_RS = 5;
export const A_CS = 6;
/** A(m, k) with k split into (k / A_SPLIT, k % A_SPLIT): the image and the position. */
export const A_SPLIT = 7;
export const B_KIND = 8;
export const B_PTR = 9;
export const B_RS = 10;
export const B_CS = 11;
/** B(k, n) with n split into (n / B_SPLIT, n % B_SPLIT): the image and the position. */
export const B_SPLIT = 12;
export const G_K = 13;
/** Element stride between the images of a split A operand. */
export const A_IMG = 14;
export const G_KC = 15;
export const G_MC = 16;
export const G_NC = 17;

// --- convolution geometry (per group) read by the im2col packers ---
export const CV_C = 18;
export const CV_H = 19;
export const CV_W = 20;
export const CV_KH = 21;
export const CV_KW = 22;
export const CV_SH = 23;
export const CV_SW = 24;
export const CV_PH = 25;
export const CV_PW = 26;
export const CV_DH = 27;
export const CV_DW = 28;
export const CV_OH = 29;
export const CV_OW = 30;
/** Elements per image of the convolution input (and of its gradient): c * h * w. */
export const CV_IMG = 31;
/** Element stride between the images of a split B operand. */
export const B_IMG = 89;

// --- dense_task (kernels/dense.ts): its element count and which range kernel runs ---
export const DENSE_N = 90;
export const DENSE_KIND = 91;
export const D_UNARY = 0;
export const D_AXPBY = 1;
export const D_CAST = 2;
export const D_FILL = 3;
export const D_SGD = 4;
export const D_ADAM = 5;

/** First slot a task may use for its own arguments. */
export const TASK = 32;
// --- convolution tasks ---
export const CONV_N = TASK;
export const CONV_GROUPS = TASK + 1;
/** Output channels per group. */
export const CONV_OG = TASK + 2;
export const CONV_X = TASK + 3;
export const CONV_W = TASK + 4;
/** The output of the forward pass, the incoming gradient of the backward ones. */
export const CONV_Y = TASK + 5;
/** gx or gw of the backward passes. */
export const CONV_OUT = TASK + 6;
/** Forward: positions per item. Grad-input: channels per item. Grad-weight: columns. */
export const CONV_TILE = TASK + 7;
/** Grad-weight: rows (output channels) per item. Grad-input: images per item. */
export const CONV_TILE2 = TASK + 8;
/** Grad-weight: slabs the position sum is split into (each into its own partial gW). */
export const CONV_KSPLIT = TASK + 9;

// --- element-wise, layout and reduction tasks ---
export const EW_OP = TASK;
export const EW_A = TASK + 1;
export const EW_B = TASK + 2;
export const EW_OUT = TASK + 3;
/** Rank of the (collapsed) strided views, at most 8. */
export const EW_RANK = TASK + 4;
export const EW_AOFF = TASK + 5;
export const EW_BOFF = TASK + 6;
/** f32 scalar arguments. */
export const EW_PARAM = TASK + 7;
export const EW_PARAM2 = TASK + 8;
export const EW_PARAM3 = TASK + 9;
export const EW_PARAM4 = TASK + 10;
export const EW_FLAGS = TASK + 12;
export const EW_SHAPE = TASK + 16;
export const EW_ASTR = TASK + 24;
export const EW_BSTR = TASK + 32;
export const MAX_RANK = 8;
/** Reductions: the reduced dims (the kept ones use EW_SHAPE / EW_ASTR). */
export const RD_RANK = TASK + 40;
export const RD_SHAPE = TASK + 41;
export const RD_STR = TASK + 49;

// --- op codes (the host maps its op names onto these) ---
export const U_NEG = 0;
export const U_EXP = 1;
export const U_LOG = 2;
export const U_SQRT = 3;
export const U_RSQRT = 4;
export const U_ABS = 5;
export const U_SIGN = 6;
export const U_RELU = 7;
export const U_STEP = 8;
export const U_SIGMOID = 9;
export const U_TANH = 10;
export const U_SILU = 11;
export const U_SQUARE = 12;
export const U_RECIPROCAL = 13;
export const U_SCALE = 14;
export const U_ADD_SCALAR = 15;
/** 16 (powScalar) and B_POW below have no kernel: the host runs their reference rule. */
export const U_POW_SCALAR = 16;
export const U_REVERSE_GRAD = 17;
export const U_CLAMP_MIN = 18;
export const U_CLAMP_MAX = 19;

export const B_ADD = 0;
export const B_SUB = 1;
export const B_MUL = 2;
export const B_DIV = 3;
export const B_POW = 4;
export const B_MAXIMUM = 5;
export const B_MINIMUM = 6;
export const B_EQ = 7;
export const B_GT = 8;
export const B_GE = 9;
export const B_RELU_GRAD = 10;

export const R_SUM = 0;
export const R_MAX = 1;
export const R_MIN = 2;

// --- batch norm tasks ---
export const BN_N = TASK;
export const BN_C = TASK + 1;
export const BN_S = TASK + 2;
export const BN_X = TASK + 3;
export const BN_GY = TASK + 4;
export const BN_MEAN = TASK + 5;
export const BN_VAR = TASK + 6;
export const BN_GAMMA = TASK + 7;
export const BN_BETA = TASK + 8;
/** y of the apply pass, gx of the backward pass. */
export const BN_OUT = TASK + 9;
export const BN_GGAMMA = TASK + 10;
export const BN_GBETA = TASK + 11;
export const BN_EPS = TASK + 12;
export const BN_BATCH_STATS = TASK + 13;

// --- pooling tasks (planes = n * c) ---
export const PL_PLANES = TASK;
export const PL_H = TASK + 1;
export const PL_W = TASK + 2;
export const PL_KH = TASK + 3;
export const PL_KW = TASK + 4;
export const PL_SH = TASK + 5;
export const PL_SW = TASK + 6;
export const PL_PH = TASK + 7;
export const PL_PW = TASK + 8;
export const PL_OH = TASK + 9;
export const PL_OW = TASK + 10;
/** Input of the forward passes, incoming gradient of the backward ones. */
export const PL_IN = TASK + 11;
export const PL_OUT = TASK + 12;
export const PL_ARG = TASK + 13;
export const PL_INCLUDE_PAD = TASK + 14;

// --- optimiser tasks ---
export const OPT_PARAM = TASK;
export const OPT_GRAD = TASK + 1;
/** SGD momentum buffer, Adam first moment. */
export const OPT_M = TASK + 2;
export const OPT_V = TASK + 3;
export const OPT_LR = TASK + 5;
/** SGD momentum, Adam beta1. */
export const OPT_A = TASK + 6;
/** SGD dampening, Adam beta2. */
export const OPT_B = TASK + 7;
export const OPT_WD = TASK + 8;
export const OPT_EPS = TASK + 9;
/** Adam: sqrt(1 - beta2^t). */
export const OPT_BC2 = TASK + 10;
export const OPT_FLAGS = TASK + 11;
export const OPT_MOMENTUM = 1;
export const OPT_FIRST_STEP = 2;
export const OPT_NESTEROV = 4;

// --- the BLAS GEMM task (run by the host threads through FFI, not a WASM kernel) ---
/** Transposes of A and B (0 or 1); shape m x n x k; byte offsets and leading dimensions. */
export const SG_TRANS_A = 96;
export const SG_TRANS_B = 97;
export const SG_M = 98;
export const SG_N = 99;
export const SG_K = 100;
export const SG_A = 101;
export const SG_LDA = 102;
export const SG_B = 103;
export const SG_LDB = 104;
export const SG_C = 105;
export const SG_LDC = 106;
/** f32: beta of the first product into each C (later ones of an accumulating batch add). */
export const SG_BETA = 107;
/** Batch count and element strides; a C stride of 0 sums the whole batch into one C. */
export const SG_BATCH = 108;
export const SG_A_BS = 109;
export const SG_B_BS = 110;
export const SG_C_BS = 111;
/** Rows (SG_SPLIT_ROWS = 1) or columns of C per work item. */
export const SG_CHUNK = 112;
export const SG_SPLIT_ROWS = 113;

/** Slots in a parameter block. */
export const PARAM_SLOTS = 128;

/** Operand kinds: a strided matrix, the im2col matrix, or its transpose. */
export const KIND_STRIDED = 0;
export const KIND_IM2COL = 1;
export const KIND_IM2COL_T = 2;

/** Micro-tile of the GEMM: rows of A and columns of B per register block. */
export const MR = 4;
export const NR = 8;
