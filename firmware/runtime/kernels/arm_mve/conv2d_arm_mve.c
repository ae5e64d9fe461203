/* CONV_2D, int8, Helium (MVE): the shared matrix-multiply kernel (tinyc_mve_matmul.h). */
#include "tinyc_mve_matmul.h"
