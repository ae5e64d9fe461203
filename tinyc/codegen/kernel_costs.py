"""Instructions per kernel call, measured in QEMU by scripts/measure_kernel_costs.py (do not edit by
hand: rerun it after a kernel changes). COSTS[kernel set][kernel] = (a, b, c, d): a call costs
a*MACs + b*outputs + c*weights + d instructions; a packed kernel is keyed "<macro>/<packing mode>".
MEASURED says how, where and when, with each fit's sample count and median relative error."""

MEASURED = {
    "boards": {
        "arm_dsp": "mps2-an500",
        "arm_mve": "mps3-an547",
        "reference": "mps2-an385",
        "reference-v6m": "microbit"
    },
    "commit": "847785a",
    "date": "2026-12-04",
    "features": [
        "macs",
        "outputs",
        "weights",
        "call"
    ],
    "fit": {
        "arm_dsp": {
            "TINYC_AVG_POOL_S8": {
                "instructions": 148640,
                "median_rel_error": 0.1558,
                "samples": 12
            },
            "TINYC_CONV2D_PACKED_S8/lut": {
                "instructions": 116846880,
                "median_rel_error": 0.0265,
                "samples": 16
            },
            "TINYC_CONV2D_PACKED_S8/sign": {
                "instructions": 131480560,
                "median_rel_error": 0.0399,
                "samples": 20
            },
            "TINYC_CONV2D_PACKED_S8/sparse-lut": {
                "instructions": 133331200,
                "median_rel_error": 0.0412,
                "samples": 20
            },
            "TINYC_DEPTHWISE_CONV2D_INPLACE_S8": {
                "instructions": 984160,
                "median_rel_error": 0.0567,
                "samples": 8
            },
            "TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign": {
                "instructions": 16746200,
                "median_rel_error": 0.0123,
                "samples": 11
            },
            "TINYC_DSP_ADD_INPLACE_S8": {
                "instructions": 1179680,
                "median_rel_error": 0.0,
                "samples": 4
            },
            "TINYC_DSP_ADD_S8": {
                "instructions": 884800,
                "median_rel_error": 0.0001,
                "samples": 8
            },
            "TINYC_DSP_CONV_POINTWISE_INPLACE_S8": {
                "instructions": 18188640,
                "median_rel_error": 0.0,
                "samples": 24
            },
            "TINYC_DSP_CONV_ROWS_INPLACE_S8": {
                "instructions": 20539040,
                "median_rel_error": 0.0547,
                "samples": 24
            },
            "TINYC_DSP_CONV_S8": {
                "instructions": 21820280,
                "median_rel_error": 0.0406,
                "samples": 24
            },
            "TINYC_DSP_DEPTHWISE_CONV_S8": {
                "instructions": 7863840,
                "median_rel_error": 0.0067,
                "samples": 33
            },
            "TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8": {
                "instructions": 6880800,
                "median_rel_error": 0.0562,
                "samples": 20
            },
            "TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8": {
                "instructions": 5223520,
                "median_rel_error": 0.0424,
                "samples": 8
            },
            "TINYC_DSP_FC_S8": {
                "instructions": 448480,
                "median_rel_error": 0.016,
                "samples": 18
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/lut": {
                "instructions": 6625840,
                "median_rel_error": 0.0002,
                "samples": 13
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sign": {
                "instructions": 5606840,
                "median_rel_error": 0.0001,
                "samples": 15
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut": {
                "instructions": 7357120,
                "median_rel_error": 0.002,
                "samples": 14
            },
            "TINYC_SOFTMAX_S8": {
                "instructions": 55560,
                "median_rel_error": 0.063,
                "samples": 12
            }
        },
        "arm_mve": {
            "TINYC_AVG_POOL_S8": {
                "instructions": 130376,
                "median_rel_error": 0.1979,
                "samples": 12
            },
            "TINYC_CONV2D_PACKED_S8/lut": {
                "instructions": 103122687,
                "median_rel_error": 0.0322,
                "samples": 16
            },
            "TINYC_CONV2D_PACKED_S8/sign": {
                "instructions": 117457094,
                "median_rel_error": 0.0442,
                "samples": 20
            },
            "TINYC_CONV2D_PACKED_S8/sparse-lut": {
                "instructions": 118937810,
                "median_rel_error": 0.0456,
                "samples": 20
            },
            "TINYC_DEPTHWISE_CONV2D_INPLACE_S8": {
                "instructions": 997751,
                "median_rel_error": 0.0572,
                "samples": 8
            },
            "TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign": {
                "instructions": 16844095,
                "median_rel_error": 0.0135,
                "samples": 11
            },
            "TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8": {
                "instructions": 2968624,
                "median_rel_error": 0.0,
                "samples": 4
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/lut": {
                "instructions": 5829187,
                "median_rel_error": 0.0002,
                "samples": 13
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sign": {
                "instructions": 5332407,
                "median_rel_error": 0.0,
                "samples": 15
            },
            "TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut": {
                "instructions": 6721405,
                "median_rel_error": 0.002,
                "samples": 14
            },
            "TINYC_MVE_ADD_INPLACE_S8": {
                "instructions": 737500,
                "median_rel_error": 0.0,
                "samples": 4
            },
            "TINYC_MVE_ADD_S8": {
                "instructions": 553376,
                "median_rel_error": 0.0,
                "samples": 8
            },
            "TINYC_MVE_CONV_POINTWISE_INPLACE_S8": {
                "instructions": 6642740,
                "median_rel_error": 0.0,
                "samples": 24
            },
            "TINYC_MVE_CONV_ROWS_INPLACE_S8": {
                "instructions": 6372500,
                "median_rel_error": 0.0507,
                "samples": 24
            },
            "TINYC_MVE_CONV_S8": {
                "instructions": 5894625,
                "median_rel_error": 0.0623,
                "samples": 24
            },
            "TINYC_MVE_DEPTHWISE_CONV_S8": {
                "instructions": 4023750,
                "median_rel_error": 0.0522,
                "samples": 33
            },
            "TINYC_MVE_DEPTHWISE_PLANE_INPLACE_S8": {
                "instructions": 2520992,
                "median_rel_error": 0.0,
                "samples": 16
            },
            "TINYC_MVE_DEPTHWISE_ROWS_INPLACE_S8": {
                "instructions": 3987248,
                "median_rel_error": 0.0978,
                "samples": 8
            },
            "TINYC_MVE_FC_S8": {
                "instructions": 82315,
                "median_rel_error": 0.0484,
                "samples": 18
            },
            "TINYC_SOFTMAX_S8": {
                "instructions": 57281,
                "median_rel_error": 0.0691,
                "samples": 12
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
        'TINYC_AVG_POOL_S8': (0.0, 0.0, 0.0, 10726.0),
        'TINYC_CONV2D_PACKED_S8/lut': (5.87695, 193.387, 14.6128, 0.0),
        'TINYC_CONV2D_PACKED_S8/sign': (6.13505, 163.56, 9.67946, 0.0),
        'TINYC_CONV2D_PACKED_S8/sparse-lut': (6.14864, 163.683, 15.9674, 0.0),
        'TINYC_DEPTHWISE_CONV2D_INPLACE_S8': (21.0436, 189.392, 0.0, 0.0),
        'TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign': (14.8864, 133.977, 0.0, 23547.5),
        'TINYC_DSP_ADD_INPLACE_S8': (0.0, 9.00024, 0.0, 147460.0),
        'TINYC_DSP_ADD_S8': (0.0, 18.0005, 0.0, 0.0),
        'TINYC_DSP_CONV_POINTWISE_INPLACE_S8': (0.958782, 19.2316, 0.0, 9411.05),
        'TINYC_DSP_CONV_ROWS_INPLACE_S8': (0.720062, 79.1613, 0.0, 9397.68),
        'TINYC_DSP_CONV_S8': (1.03321, 18.7788, 0.0, 0.0),
        'TINYC_DSP_DEPTHWISE_CONV_S8': (2.37462, 21.3716, 0.0, 280.156),
        'TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8': (0.0, 0.0, 0.0, 270349.0),
        'TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8': (2.57801, 23.2021, 0.0, 0.0),
        'TINYC_DSP_FC_S8': (1.44224, 21.2185, 0.0, 643.311),
        'TINYC_FULLY_CONNECTED_PACKED_S8/lut': (11.9987, 159.181, 11.9987, 38.6058),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sign': (2.91024, 152.729, 17.0904, 26.9373),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut': (1.47657, 178.057, 25.0309, 21.2439),
        'TINYC_SOFTMAX_S8': (0.0, 515.638, 5.55112e-05, 467.856),
    },
    'arm_mve': {
        'TINYC_AVG_POOL_S8': (0.0, 3.62922, 0.0, 8976.92),
        'TINYC_CONV2D_PACKED_S8/lut': (5.02648, 180.863, 11.8755, 0.0),
        'TINYC_CONV2D_PACKED_S8/sign': (5.21249, 160.175, 9.01704, 0.0),
        'TINYC_CONV2D_PACKED_S8/sparse-lut': (5.22491, 160.362, 13.9627, 0.0),
        'TINYC_DEPTHWISE_CONV2D_INPLACE_S8': (21.3303, 191.972, 0.0, 0.0),
        'TINYC_DEPTHWISE_CONV2D_PACKED_S8/sign': (14.9292, 134.362, 0.0, 26836.2),
        'TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8': (4.63848, 115.962, 463.848, 185539.0),
        'TINYC_FULLY_CONNECTED_PACKED_S8/lut': (10.492, 161.123, 10.492, 30.1247),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sign': (1.97734, 148.525, 17.023, 42.4285),
        'TINYC_FULLY_CONNECTED_PACKED_S8/sparse-lut': (0.447931, 177.422, 23.6787, 23.4466),
        'TINYC_MVE_ADD_INPLACE_S8': (0.0, 5.62668, 0.0, 92187.5),
        'TINYC_MVE_ADD_S8': (0.0, 11.2534, 0.0, 31.0),
        'TINYC_MVE_CONV_POINTWISE_INPLACE_S8': (0.0, 15.5714, 4.05997, 38360.9),
        'TINYC_MVE_CONV_ROWS_INPLACE_S8': (0.0331762, 39.3907, 0.0, 6270.75),
        'TINYC_MVE_CONV_S8': (0.163909, 13.5505, 0.0, 0.0),
        'TINYC_MVE_DEPTHWISE_CONV_S8': (1.12428, 10.1186, 0.0, 0.0),
        'TINYC_MVE_DEPTHWISE_PLANE_INPLACE_S8': (0.54709, 4.92381, 68.3863, 39390.5),
        'TINYC_MVE_DEPTHWISE_ROWS_INPLACE_S8': (1.90166, 17.115, 0.0, 0.0),
        'TINYC_MVE_FC_S8': (0.178859, 13.9505, 0.0, 236.168),
        'TINYC_SOFTMAX_S8': (0.0, 532.228, 0.0, 477.043),
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
