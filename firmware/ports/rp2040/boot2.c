/* RP2040 second-stage boot block: the first 256 bytes of flash. The boot ROM copies them to SRAM
 * (0x20041F00), checks the CRC-32 in the last 4 bytes and runs them; they must make the flash
 * executable in place (XIP) and enter the application's vector table right after them.
 *
 * This one asks the boot ROM itself to set XIP up, through its function table (RP2040 datasheet
 * 2.8.3): connect_internal_flash ('IF'), flash_exit_xip ('EX'), flash_flush_cache ('FC'),
 * flash_enter_cmd_xip ('CX'). That is the serial 03h read mode every QSPI flash supports: correct
 * on any Pico-compatible board, slower than a chip-specific quad-I/O set-up. The code only uses
 * PC-relative literals, so it runs at the address the ROM copied it to.
 * The CRC word is written after linking (firmware/platform/builder/main.py). */
__asm__(
    "  .section .boot2, \"ax\", %progbits\n"
    "  .syntax unified\n"
    "  .thumb\n"
    "  .global tinyc_boot2\n"
    "  .type tinyc_boot2, %function\n"
    "  .thumb_func\n"
    "tinyc_boot2:\n"
    "  movs r0, #0x14\n"
    "  ldrh r4, [r0]\n"          /* 0x14: the ROM's public function table */
    "  ldrh r5, [r0, #4]\n"      /* 0x18: rom_table_lookup(table, code) */
    "  ldr r6, =(0x5843 << 16) | 0x4346\n" /* two ROM function codes: 'FC' (low half), 'CX' */
    "  mov r0, r4\n"
    "  ldr r1, =0x4649\n"        /* 'IF' connect_internal_flash */
    "  blx r5\n"
    "  blx r0\n"
    "  mov r0, r4\n"
    "  ldr r1, =0x5845\n"        /* 'EX' flash_exit_xip */
    "  blx r5\n"
    "  blx r0\n"
    "  mov r0, r4\n"
    "  uxth r1, r6\n"            /* 'FC' flash_flush_cache */
    "  blx r5\n"
    "  blx r0\n"
    "  mov r0, r4\n"
    "  lsrs r1, r6, #16\n"       /* 'CX' flash_enter_cmd_xip */
    "  blx r5\n"
    "  blx r0\n"
    "  ldr r0, =0x10000100\n"    /* the application's vector table, right after this block */
    "  ldr r1, =0xE000ED08\n"    /* VTOR */
    "  str r0, [r1]\n"
    "  ldr r1, [r0]\n"
    "  ldr r2, [r0, #4]\n"
    "  msr msp, r1\n"
    "  bx r2\n"
    "  .ltorg\n"
    "  .org 252\n"
    "  .word 0\n"                /* CRC-32 of bytes 0-251, patched after linking */
    "  .size tinyc_boot2, . - tinyc_boot2\n"
    "  .text\n");
