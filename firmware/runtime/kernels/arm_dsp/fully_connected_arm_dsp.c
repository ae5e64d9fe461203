/* FULLY_CONNECTED, int8, Arm DSP extension: the shared matrix-multiply kernel (tinyc_dsp_matmul.h). */
#include "tinyc_dsp_matmul.h"
