"""Instructions per kernel call, measured in QEMU by scripts/measure_kernel_costs.py (do not edit by
hand: rerun it after a kernel changes). COSTS[kernel set][kernel] = (a, b, c, d): a call costs
a*MACs + b*outputs + c*weights + d instructions; a packed kernel is keyed "<macro>/<packing mode>".
MEASURED says how, where and when, with each fit's sample count and median relative error."""

MEASURED = {
    "boards": {
        "arm_dsp": "mps2-an500",
        "arm_mve": "mps3-an547",
        "arm_scalar": "mps2-an385",
        "arm_scalar-v6m": "microbit",
        "reference": "mps2-an385",
        "reference-v6m": "microbit"
    },
    "commit": "a865af6",
    "date": "2026-12-05",
    "features": [
        "macs",
        "outputs",
        "weights",
        "call"
    ],
    "fit": {
        "arm_dsp": {
            "TINYC_CONV2D_PACKED_S8/lut": {
                "instructions": 115650680,
                "median_rel_error": 0.0265,
                "samples": 16
            },
            "TINYC_CONV2D_PACKED_S8/sign": {
                "instructions": 129738480,
                "median_rel_error": 0.0399,
                "samples": 20
            },
            "TINYC_CONV2D_PACKED_S8/sparse-lut": {
                "instructions": 131578680,
                "median_rel_error": 0.0413,
                "samples": 20
            },
            "TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign": {
                "instructions": 32205400,
                "median_rel_error": 0.0129,
                "samples": 22
            },
            "TINYC_DSP_ADD_INPLACE_S8": {
                "instructions": 1179840,
                "median_rel_error": 0.0,
                "samples": 4
            },
            "TINYC_DSP_ADD_S8": {
                "instructions": 885280,
                "median_rel_error": 0.0,
                "samples": 8
            },
            "TINYC_DSP_AVG_POOL_S8": {
                "instructions": 149640,
                "median_rel_error": 0.1601,
                "samples": 12
            },
            "TINYC_DSP_CONV_PACKED_S8/lut": {
                "instructions": 18157960,
                "median_rel_error": 0.0483,
                "samples": 29
            },
            "TINYC_DSP_CONV_PACKED_S8/sign": {
                "instructions": 18818680,
                "median_rel_error": 0.0644,
                "samples": 35
            },
            "TINYC_DSP_CONV_PACKED_S8/sparse-lut": {
                "instructions": 22791920,
                "median_rel_error": 0.0475,
                "samples": 34
            },
            "TINYC_DSP_CONV_POINTWISE_INPLACE_S8": {
                "instructions": 15360360,
                "median_rel_error": 0.0,
                "samples": 24
            },
            "TINYC_DSP_CONV_ROWS_INPLACE_S8": {
                "instructions": 17398720,
                "median_rel_error": 0.0761,
                "samples": 24
            },
            "TINYC_DSP_CONV_S8": {
                "instructions": 18321560,
                "median_rel_error": 0.0513,
                "samples": 26
            },
            "TINYC_DSP_DEPTHWISE_CONV_S8": {
                "instructions": 6910760,
                "median_rel_error": 0.0112,
                "samples": 33
            },
            "TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8": {
                "instructions": 6947480,
                "median_rel_error": 0.0559,
                "samples": 20
            },
            "TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8": {
                "instructions": 5054880,
                "median_rel_error": 0.0396,
                "samples": 16
            },
            "TINYC_DSP_FC_S8": {
                "instructions": 308840,
                "median_rel_error": 0.0068,
                "samples": 16
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/lut": {
                "instructions": 6609840,
                "median_rel_error": 0.0003,
                "samples": 13
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sign": {
                "instructions": 5589160,
                "median_rel_error": 0.0001,
                "samples": 15
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut": {
                "instructions": 7340720,
                "median_rel_error": 0.0019,
                "samples": 14
            },
            "TINYC_SOFTMAX_S8": {
                "instructions": 42040,
                "median_rel_error": 0.0262,
                "samples": 12
            }
        },
        "arm_mve": {
            "TINYC_CONV2D_PACKED_S8/lut": {
                "instructions": 101877719,
                "median_rel_error": 0.0322,
                "samples": 16
            },
            "TINYC_CONV2D_PACKED_S8/sign": {
                "instructions": 115632594,
                "median_rel_error": 0.0444,
                "samples": 20
            },
            "TINYC_CONV2D_PACKED_S8/sparse-lut": {
                "instructions": 117103001,
                "median_rel_error": 0.0454,
                "samples": 20
            },
            "TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign": {
                "instructions": 32396093,
                "median_rel_error": 0.0141,
                "samples": 22
            },
            "TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8": {
                "instructions": 3014752,
                "median_rel_error": 0.0,
                "samples": 4
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/lut": {
                "instructions": 5816249,
                "median_rel_error": 0.0002,
                "samples": 13
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sign": {
                "instructions": 5318187,
                "median_rel_error": 0.0001,
                "samples": 15
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut": {
                "instructions": 6708281,
                "median_rel_error": 0.002,
                "samples": 14
            },
            "TINYC_MVE_ADD_INPLACE_S8": {
                "instructions": 737656,
                "median_rel_error": 0.0,
                "samples": 4
            },
            "TINYC_MVE_ADD_S8": {
                "instructions": 553750,
                "median_rel_error": 0.0003,
                "samples": 8
            },
            "TINYC_MVE_AVG_POOL_S8": {
                "instructions": 116128,
                "median_rel_error": 0.1165,
                "samples": 12
            },
            "TINYC_MVE_CONV_PACKED_S8/lut": {
                "instructions": 3593588,
                "median_rel_error": 0.0664,
                "samples": 29
            },
            "TINYC_MVE_CONV_PACKED_S8/sign": {
                "instructions": 4042348,
                "median_rel_error": 0.0712,
                "samples": 35
            },
            "TINYC_MVE_CONV_PACKED_S8/sparse-lut": {
                "instructions": 5251031,
                "median_rel_error": 0.0604,
                "samples": 34
            },
            "TINYC_MVE_CONV_POINTWISE_INPLACE_S8": {
                "instructions": 3798791,
                "median_rel_error": 0.0001,
                "samples": 24
            },
            "TINYC_MVE_CONV_ROWS_INPLACE_S8": {
                "instructions": 3894407,
                "median_rel_error": 0.1128,
                "samples": 24
            },
            "TINYC_MVE_CONV_S8": {
                "instructions": 3648466,
                "median_rel_error": 0.0773,
                "samples": 24
            },
            "TINYC_MVE_DEPTHWISE_CONV_S8": {
                "instructions": 3205722,
                "median_rel_error": 0.0721,
                "samples": 33
            },
            "TINYC_MVE_DEPTHWISE_PLANE_INPLACE_S8": {
                "instructions": 2044279,
                "median_rel_error": 0.0001,
                "samples": 16
            },
            "TINYC_MVE_DEPTHWISE_ROWS_INPLACE_S8": {
                "instructions": 1834748,
                "median_rel_error": 0.172,
                "samples": 16
            },
            "TINYC_MVE_FC_S8": {
                "instructions": 83375,
                "median_rel_error": 0.0444,
                "samples": 18
            },
            "TINYC_SOFTMAX_S8": {
                "instructions": 45376,
                "median_rel_error": 0.0306,
                "samples": 12
            }
        },
        "arm_scalar": {
            "TINYC_ADD_INPLACE_S8": {
                "instructions": 6510400,
                "median_rel_error": 0.0007,
                "samples": 4
            },
            "TINYC_ADD_S8": {
                "instructions": 4874840,
                "median_rel_error": 0.0017,
                "samples": 8
            },
            "TINYC_AVG_POOL_S8": {
                "instructions": 596360,
                "median_rel_error": 0.1171,
                "samples": 12
            },
            "TINYC_CONV2D_PACKED_S8/lut": {
                "instructions": 115897600,
                "median_rel_error": 0.0279,
                "samples": 16
            },
            "TINYC_CONV2D_PACKED_S8/sign": {
                "instructions": 130712560,
                "median_rel_error": 0.0418,
                "samples": 20
            },
            "TINYC_CONV2D_PACKED_S8/sparse-lut": {
                "instructions": 132338600,
                "median_rel_error": 0.0429,
                "samples": 20
            },
            "TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign": {
                "instructions": 16270000,
                "median_rel_error": 0.0139,
                "samples": 11
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/lut": {
                "instructions": 6081760,
                "median_rel_error": 0.0004,
                "samples": 13
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sign": {
                "instructions": 5589080,
                "median_rel_error": 0.0002,
                "samples": 15
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut": {
                "instructions": 7130600,
                "median_rel_error": 0.0018,
                "samples": 14
            },
            "TINYC_SCALAR_CONV_POINTWISE_INPLACE_S8": {
                "instructions": 23601200,
                "median_rel_error": 0.0001,
                "samples": 24
            },
            "TINYC_SCALAR_CONV_ROWS_INPLACE_S8": {
                "instructions": 24396600,
                "median_rel_error": 0.0432,
                "samples": 24
            },
            "TINYC_SCALAR_CONV_S8": {
                "instructions": 25643800,
                "median_rel_error": 0.0864,
                "samples": 26
            },
            "TINYC_SCALAR_DEPTHWISE_CONV_S8": {
                "instructions": 10852040,
                "median_rel_error": 0.0243,
                "samples": 33
            },
            "TINYC_SCALAR_DEPTHWISE_PLANE_INPLACE_S8": {
                "instructions": 10273080,
                "median_rel_error": 0.0019,
                "samples": 20
            },
            "TINYC_SCALAR_DEPTHWISE_ROWS_INPLACE_S8": {
                "instructions": 10009280,
                "median_rel_error": 0.1004,
                "samples": 16
            },
            "TINYC_SCALAR_FC_S8": {
                "instructions": 651840,
                "median_rel_error": 0.0049,
                "samples": 16
            },
            "TINYC_SOFTMAX_S8": {
                "instructions": 42600,
                "median_rel_error": 0.0436,
                "samples": 12
            }
        },
        "arm_scalar-v6m": {
            "TINYC_AVG_POOL_S8": {
                "instructions": 446625,
                "median_rel_error": 0.0008,
                "samples": 4
            },
            "TINYC_CONV2D_PACKED_S8/lut": {
                "instructions": 16421375,
                "median_rel_error": 0.0,
                "samples": 1
            },
            "TINYC_CONV2D_PACKED_S8/sign": {
                "instructions": 16399500,
                "median_rel_error": 0.0,
                "samples": 1
            },
            "TINYC_CONV2D_PACKED_S8/sparse-lut": {
                "instructions": 16428125,
                "median_rel_error": 0.0,
                "samples": 1
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/lut": {
                "instructions": 8885750,
                "median_rel_error": 0.0002,
                "samples": 11
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sign": {
                "instructions": 6717000,
                "median_rel_error": 0.0002,
                "samples": 13
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut": {
                "instructions": 9527750,
                "median_rel_error": 0.0014,
                "samples": 12
            },
            "TINYC_SCALAR_CONV_POINTWISE_INPLACE_S8": {
                "instructions": 32775500,
                "median_rel_error": 0.0086,
                "samples": 16
            },
            "TINYC_SCALAR_CONV_ROWS_INPLACE_S8": {
                "instructions": 4124250,
                "median_rel_error": 0.069,
                "samples": 16
            },
            "TINYC_SCALAR_CONV_S8": {
                "instructions": 1645250,
                "median_rel_error": 0.3832,
                "samples": 3
            },
            "TINYC_SCALAR_DEPTHWISE_PLANE_INPLACE_S8": {
                "instructions": 20327125,
                "median_rel_error": 0.0009,
                "samples": 20
            },
            "TINYC_SCALAR_DEPTHWISE_ROWS_INPLACE_S8": {
                "instructions": 635375,
                "median_rel_error": 0.0001,
                "samples": 8
            },
            "TINYC_SCALAR_FC_S8": {
                "instructions": 29625,
                "median_rel_error": 0.0,
                "samples": 4
            },
            "TINYC_SOFTMAX_S8": {
                "instructions": 68750,
                "median_rel_error": 0.0657,
                "samples": 4
            }
        },
        "reference": {
            "TINYC_ADD_INPLACE_S8": {
                "instructions": 8264360,
                "median_rel_error": 0.0007,
                "samples": 4
            },
            "TINYC_ADD_S8": {
                "instructions": 6249360,
                "median_rel_error": 0.0009,
                "samples": 8
            },
            "TINYC_AVG_POOL_S8": {
                "instructions": 595960,
                "median_rel_error": 0.1166,
                "samples": 12
            },
            "TINYC_CONV2D_INPLACE_S8": {
                "instructions": 133806120,
                "median_rel_error": 0.0318,
                "samples": 24
            },
            "TINYC_CONV2D_PACKED_S8/lut": {
                "instructions": 117200200,
                "median_rel_error": 0.0278,
                "samples": 16
            },
            "TINYC_CONV2D_PACKED_S8/sign": {
                "instructions": 132607160,
                "median_rel_error": 0.0418,
                "samples": 20
            },
            "TINYC_CONV2D_PACKED_S8/sparse-lut": {
                "instructions": 134243760,
                "median_rel_error": 0.0429,
                "samples": 20
            },
            "TINYC_CONV2D_POINTWISE_INPLACE_S8": {
                "instructions": 93717360,
                "median_rel_error": 0.0002,
                "samples": 24
            },
            "TINYC_CONV2D_S8": {
                "instructions": 146854840,
                "median_rel_error": 0.0548,
                "samples": 24
            },
            "TINYC_DEPTHWISE_CONV2D_INPLACE_S8": {
                "instructions": 94229640,
                "median_rel_error": 0.0735,
                "samples": 36
            },
            "TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign": {
                "instructions": 16913600,
                "median_rel_error": 0.0133,
                "samples": 11
            },
            "TINYC_DEPTHWISE_CONV2D_S8": {
                "instructions": 57886040,
                "median_rel_error": 0.0102,
                "samples": 33
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/lut": {
                "instructions": 6097800,
                "median_rel_error": 0.0002,
                "samples": 13
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sign": {
                "instructions": 5606800,
                "median_rel_error": 0.0001,
                "samples": 15
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut": {
                "instructions": 7147120,
                "median_rel_error": 0.0018,
                "samples": 14
            },
            "TINYC_FULLY_CONNECTED_S8": {
                "instructions": 2042560,
                "median_rel_error": 0.0004,
                "samples": 18
            },
            "TINYC_SOFTMAX_S8": {
                "instructions": 54520,
                "median_rel_error": 0.0649,
                "samples": 12
            }
        },
        "reference-v6m": {
            "TINYC_AVG_POOL_S8": {
                "instructions": 446125,
                "median_rel_error": 0.0008,
                "samples": 4
            },
            "TINYC_CONV2D_INPLACE_S8": {
                "instructions": 14543750,
                "median_rel_error": 0.0001,
                "samples": 16
            },
            "TINYC_CONV2D_PACKED_S8/lut": {
                "instructions": 16231250,
                "median_rel_error": 0.0,
                "samples": 1
            },
            "TINYC_CONV2D_PACKED_S8/sign": {
                "instructions": 16209375,
                "median_rel_error": 0.0,
                "samples": 1
            },
            "TINYC_CONV2D_PACKED_S8/sparse-lut": {
                "instructions": 16238000,
                "median_rel_error": 0.0,
                "samples": 1
            },
            "TINYC_CONV2D_POINTWISE_INPLACE_S8": {
                "instructions": 86802625,
                "median_rel_error": 0.0003,
                "samples": 16
            },
            "TINYC_CONV2D_S8": {
                "instructions": 16867500,
                "median_rel_error": 0.0,
                "samples": 1
            },
            "TINYC_DEPTHWISE_CONV2D_INPLACE_S8": {
                "instructions": 65402375,
                "median_rel_error": 0.0181,
                "samples": 28
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/lut": {
                "instructions": 9169125,
                "median_rel_error": 0.0001,
                "samples": 11
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sign": {
                "instructions": 7004250,
                "median_rel_error": 0.0002,
                "samples": 13
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut": {
                "instructions": 9812500,
                "median_rel_error": 0.0013,
                "samples": 12
            },
            "TINYC_FULLY_CONNECTED_S8": {
                "instructions": 112875,
                "median_rel_error": 0.0019,
                "samples": 6
            },
            "TINYC_SOFTMAX_S8": {
                "instructions": 77875,
                "median_rel_error": 0.075,
                "samples": 4
            }
        }
    },
    "method": "scripts/measure_kernel_costs.py: zoo MLPerf + single-op CONV/DEPTHWISE/FC models, filters dense and rewritten to LUT/SPARSE_LUT/SIGN values (packed where smaller), one inference per model with each kernel call timed (tinyc.fit.profile), then per kernel a non-negative least-squares fit of a*MACs + b*outputs + c*weights + d",
    "unit": "instructions (QEMU -icount shift=0: exact counts, not cycles)"
}

COSTS = {
    'arm_dsp': {
        'TINYC_CONV2D_PACKED_S8/lut': (5.89044, 179.268, 14.5673, 0.0),
        'TINYC_CONV2D_PACKED_S8/sign': (6.14488, 150.569, 9.58698, 0.0),
        'TINYC_CONV2D_PACKED_S8/sparse-lut': (6.15997, 150.473, 15.8686, 0.0),
        'TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign': (14.3019, 128.717, 0.0, 23412.7),
        'TINYC_DSP_ADD_INPLACE_S8': (0.0, 9.00146, 0.0, 147480.0),
        'TINYC_DSP_ADD_S8': (0.0, 17.998, 0.0, 80.0),
        'TINYC_DSP_AVG_POOL_S8': (0.0, 0.0, 0.0, 10811.8),
        'TINYC_DSP_CONV_PACKED_S8/lut': (0.825639, 17.4571, 6.43058, 1291.3),
        'TINYC_DSP_CONV_PACKED_S8/sign': (0.807411, 19.0489, 4.12622, 2503.99),
        'TINYC_DSP_CONV_PACKED_S8/sparse-lut': (0.842175, 17.4238, 11.2036, 2170.99),
        'TINYC_DSP_CONV_POINTWISE_INPLACE_S8': (0.750846, 17.185, 0.0, 22979.6),
        'TINYC_DSP_CONV_ROWS_INPLACE_S8': (0.591921, 67.7196, 0.0, 11353.8),
        'TINYC_DSP_CONV_S8': (0.849794, 16.4769, 0.0, 1888.77),
        'TINYC_DSP_DEPTHWISE_CONV_S8': (2.08281, 18.7453, 0.0, 0.0),
        'TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8': (0.0, 0.0, 0.0, 271208.0),
        'TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8': (2.307, 20.763, 0.0, 15127.9),
        'TINYC_DSP_FC_S8': (0.474366, 24.0389, 0.474366, 328.593),
        'TINYC_FULLY_CONNECTED_PACKED_S8/lut': (11.9909, 151.118, 11.9909, 64.3913),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sign': (2.88061, 142.266, 17.1175, 80.6461),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut': (1.59438, 164.951, 24.9313, 78.471),
        'TINYC_SOFTMAX_S8': (0.0, 397.973, 0.0, 312.329),
    },
    'arm_mve': {
        'TINYC_CONV2D_PACKED_S8/lut': (5.04016, 166.194, 11.826, 0.0),
        'TINYC_CONV2D_PACKED_S8/sign': (5.22328, 146.471, 8.92488, 0.0),
        'TINYC_CONV2D_PACKED_S8/sparse-lut': (5.23702, 146.449, 13.867, 0.0),
        'TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign': (14.3451, 129.106, 0.0, 26402.1),
        'TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8': (4.71055, 117.764, 471.055, 188422.0),
        'TINYC_FULLY_CONNECTED_PACKED_S8/lut': (10.4999, 150.245, 10.4999, 74.7598),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sign': (1.98522, 140.045, 17.0166, 74.7903),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut': (0.596158, 166.849, 23.547, 72.0351),
        'TINYC_MVE_ADD_INPLACE_S8': (0.0, 5.62787, 0.0, 92207.0),
        'TINYC_MVE_ADD_S8': (0.0, 11.2533, 0.0, 78.483),
        'TINYC_MVE_AVG_POOL_S8': (0.0, 0.0, 0.0, 7955.39),
        'TINYC_MVE_CONV_PACKED_S8/lut': (0.118011, 7.06202, 1.77811, 759.087),
        'TINYC_MVE_CONV_PACKED_S8/sign': (0.115852, 7.36114, 1.5575, 1272.21),
        'TINYC_MVE_CONV_PACKED_S8/sparse-lut': (0.121673, 7.38296, 3.67795, 1252.86),
        'TINYC_MVE_CONV_POINTWISE_INPLACE_S8': (0.00805286, 8.24161, 2.30531, 27699.1),
        'TINYC_MVE_CONV_ROWS_INPLACE_S8': (0.0532262, 21.4266, 0.101845, 3948.26),
        'TINYC_MVE_CONV_S8': (0.119599, 6.78748, 0.0, 0.0),
        'TINYC_MVE_DEPTHWISE_CONV_S8': (0.911095, 8.19985, 0.0, 6722.41),
        'TINYC_MVE_DEPTHWISE_PLANE_INPLACE_S8': (0.443637, 3.99273, 55.4546, 31941.9),
        'TINYC_MVE_DEPTHWISE_ROWS_INPLACE_S8': (0.541938, 4.87744, 232.944, 20592.4),
        'TINYC_MVE_FC_S8': (0.17942, 13.845, 0.0, 300.833),
        'TINYC_SOFTMAX_S8': (0.0, 424.189, 0.0, 375.934),
    },
    'arm_scalar': {
        'TINYC_ADD_INPLACE_S8': (0.0, 49.6703, 0.0, 813798.0),
        'TINYC_ADD_S8': (0.0, 99.1579, 0.0, 125.265),
        'TINYC_AVG_POOL_S8': (0.0, 0.0, 0.0, 39791.1),
        'TINYC_CONV2D_PACKED_S8/lut': (5.92397, 177.829, 12.3058, 0.0),
        'TINYC_CONV2D_PACKED_S8/sign': (6.17136, 150.726, 9.18951, 0.0),
        'TINYC_CONV2D_PACKED_S8/sparse-lut': (6.18521, 150.659, 14.7154, 0.0),
        'TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign': (14.4133, 129.719, 0.0, 26377.9),
        'TINYC_FULLY_CONNECTED_PACKED_S8/lut': (10.9925, 152.925, 10.9925, 45.3066),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sign': (2.83323, 142.603, 17.1656, 61.1679),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut': (1.63639, 164.584, 24.1121, 50.1284),
        'TINYC_SCALAR_CONV_POINTWISE_INPLACE_S8': (0.891049, 37.6538, 0.0, 0.0),
        'TINYC_SCALAR_CONV_ROWS_INPLACE_S8': (0.95864, 87.0401, 0.0, 8320.83),
        'TINYC_SCALAR_CONV_S8': (1.01681, 34.6607, 0.91953, 1100.83),
        'TINYC_SCALAR_DEPTHWISE_CONV_S8': (3.20132, 28.8118, 0.0, 0.0),
        'TINYC_SCALAR_DEPTHWISE_PLANE_INPLACE_S8': (1.77125, 45.2409, 125.922, 25335.9),
        'TINYC_SCALAR_DEPTHWISE_ROWS_INPLACE_S8': (4.51535, 40.6381, 0.0, 16301.0),
        'TINYC_SCALAR_FC_S8': (1.12642, 13.8394, 1.12642, 1040.2),
        'TINYC_SOFTMAX_S8': (0.0, 399.085, 0.0, 347.324),
    },
    'arm_scalar-v6m': {
        'TINYC_AVG_POOL_S8': (0.0, 872.313, 0.0, 55828.0),
        'TINYC_CONV2D_PACKED_S8/lut': (51.3168, 0.0, 0.0, 0.0),
        'TINYC_CONV2D_PACKED_S8/sign': (51.2484, 0.0, 0.0, 0.0),
        'TINYC_CONV2D_PACKED_S8/sparse-lut': (51.3379, 0.0, 0.0, 0.0),
        'TINYC_FULLY_CONNECTED_PACKED_S8/lut': (15.991, 271.989, 15.991, 71.1653),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sign': (3.45228, 269.056, 20.0578, 89.1287),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut': (1.26813, 310.861, 32.74, 0.0),
        'TINYC_SCALAR_CONV_POINTWISE_INPLACE_S8': (0.999839, 63.9897, 124.98, 511918.0),
        'TINYC_SCALAR_CONV_ROWS_INPLACE_S8': (0.0, 239.097, 120.237, 0.0),
        'TINYC_SCALAR_CONV_S8': (6.85299, 0.0, 0.0, 0.0),
        'TINYC_SCALAR_DEPTHWISE_PLANE_INPLACE_S8': (3.45839, 90.4817, 245.174, 48855.4),
        'TINYC_SCALAR_DEPTHWISE_ROWS_INPLACE_S8': (12.5265, 112.738, 59.4397, 5454.48),
        'TINYC_SCALAR_FC_S8': (1.61709, 53.2073, 1.61709, 1002.67),
        'TINYC_SOFTMAX_S8': (0.0, 706.603, 0.0, 8479.24),
    },
    'reference': {
        'TINYC_ADD_INPLACE_S8': (0.0, 63.0519, 0.0, 1033040.0),
        'TINYC_ADD_S8': (0.0, 127.136, 0.0, 0.0),
        'TINYC_AVG_POOL_S8': (0.0, 0.0, 0.0, 39752.4),
        'TINYC_CONV2D_INPLACE_S8': (6.12009, 367.772, 44.3875, 15713.4),
        'TINYC_CONV2D_PACKED_S8/lut': (5.90913, 193.139, 12.397, 0.0),
        'TINYC_CONV2D_PACKED_S8/sign': (6.16058, 164.822, 9.33122, 0.0),
        'TINYC_CONV2D_PACKED_S8/sparse-lut': (6.17298, 164.974, 14.8618, 0.0),
        'TINYC_CONV2D_POINTWISE_INPLACE_S8': (5.93756, 67.8167, 0.0, 15985.1),
        'TINYC_CONV2D_S8': (6.03422, 169.897, 0.0, 0.0),
        'TINYC_DEPTHWISE_CONV2D_INPLACE_S8': (17.1813, 202.625, 0.0, 6577.8),
        'TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign': (14.9978, 134.981, 0.0, 26514.7),
        'TINYC_DEPTHWISE_CONV2D_S8': (17.211, 154.899, 0.0, 0.0),
        'TINYC_FULLY_CONNECTED_PACKED_S8/lut': (10.9905, 163.539, 10.9905, 21.3678),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sign': (2.85733, 152.729, 17.1434, 26.9373),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut': (1.62857, 175.034, 24.117, 26.3603),
        'TINYC_FULLY_CONNECTED_S8': (6.99797, 71.7821, 0.0, 44.4477),
        'TINYC_SOFTMAX_S8': (0.0, 508.215, 0.0, 442.305),
    },
    'reference-v6m': {
        'TINYC_AVG_POOL_S8': (0.0, 871.336, 0.0, 55765.5),
        'TINYC_CONV2D_INPLACE_S8': (9.20722, 618.316, 16.638, 51648.8),
        'TINYC_CONV2D_PACKED_S8/lut': (50.7227, 0.0, 0.0, 0.0),
        'TINYC_CONV2D_PACKED_S8/sign': (50.6543, 0.0, 0.0, 0.0),
        'TINYC_CONV2D_PACKED_S8/sparse-lut': (50.7437, 0.0, 0.0, 0.0),
        'TINYC_CONV2D_POINTWISE_INPLACE_S8': (2.64901, 169.536, 331.126, 1356290.0),
        'TINYC_CONV2D_S8': (52.7109, 0.0, 0.0, 0.0),
        'TINYC_DEPTHWISE_CONV2D_INPLACE_S8': (22.7336, 257.988, 0.0, 22938.7),
        'TINYC_FULLY_CONNECTED_PACKED_S8/lut': (16.4941, 283.166, 16.4941, 61.2284),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sign': (4.51656, 281.146, 19.9894, 52.3016),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut': (2.39144, 321.079, 32.6271, 0.0),
        'TINYC_FULLY_CONNECTED_S8': (9.83833, 164.812, 0.0, 120.105),
        'TINYC_SOFTMAX_S8': (0.0, 797.376, 0.0, 9568.51),
    },
}
