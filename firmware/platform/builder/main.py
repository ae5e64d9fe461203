"""SCons build script of tinyc's PlatformIO platform.

The compiler is the system arm-none-eabi toolchain (Debian's gcc-arm-none-eabi), never a registry
package, so builds work offline. The CPU flags are the project's board manifest's build.cpu_flags, which
tinyc renders from boards/<id>.toml (tinyc.boards.Board.cpu_flags: the one place they are written).
"""

import shlex
import shutil
import sys

from SCons.Script import AlwaysBuild, Builder, Default, DefaultEnvironment

env = DefaultEnvironment()
env.Replace(PROGNAME="firmware")
board = env.BoardConfig()

PREFIX = "arm-none-eabi-"
if not shutil.which(PREFIX + "gcc"):
    sys.stderr.write(
        "Error: arm-none-eabi-gcc not found. Install the Debian packages gcc-arm-none-eabi and "
        "libnewlib-arm-none-eabi (scripts/setup.sh does it).\n"
    )
    env.Exit(1)

env.Replace(
    AR=PREFIX + "ar", AS=PREFIX + "gcc", CC=PREFIX + "gcc", CXX=PREFIX + "g++", LINK=PREFIX + "gcc",
    OBJCOPY=PREFIX + "objcopy", RANLIB=PREFIX + "ranlib", SIZETOOL=PREFIX + "size",
    PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.text|\.rodata|\.data|\.isr_vector|\.boot2|\.ARM\.exidx)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.noinit|\.stack|\.arena)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)

env.Append(BUILDERS=dict(
    ElfToBin=Builder(action=env.VerboseAction("$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"),
                     suffix=".bin"),
    ElfToHex=Builder(action=env.VerboseAction("$OBJCOPY -O ihex $SOURCES $TARGET", "Building $TARGET"),
                     suffix=".hex"),
))

# The CPU flags tinyc wrote into the board manifest (tinyc.boards.Board.cpu_flags, their one source).
machine = list(board.get("build.cpu_flags", []))
if not machine:
    sys.stderr.write(
        "Error: the board manifest has no build.cpu_flags; regenerate this project with tinyc\n"
    )
    env.Exit(1)

env.Append(
    ASFLAGS=machine + ["-x", "assembler-with-cpp"],
    CCFLAGS=machine + ["-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-g3"],
    CFLAGS=["-std=c99"],
    LINKFLAGS=machine + [
        "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections",
        # substituted now, so a project folder with a space in its path stays one argument (SCons quotes it)
        "-Wl,-Map," + env.subst("$BUILD_DIR/firmware.map"), "-Wl,--print-memory-usage",
    ],
    LIBS=["c", "m", "gcc"],
)
ldscript = board.get("build.ldscript", "")
if ldscript:
    env.Replace(LDSCRIPT_PATH=env.subst(ldscript))

elf = env.BuildProgram()


def _boot2_crc(target, source, env):
    """RP2040: the boot ROM runs the 256-byte .boot2 block only if its last word is the CRC-32
    (polynomial 0x04C11DB7, MSB first, initial 0xFFFFFFFF, no final XOR) of the first 252 bytes."""
    from elftools.elf.elffile import ELFFile

    path = str(target[0])
    with open(path, "r+b") as f:
        section = ELFFile(f).get_section_by_name(".boot2")
        if section is None or section["sh_size"] != 256:
            sys.stderr.write("Error: .boot2 must be exactly 256 bytes (firmware/ports/rp2040/boot2.c)\n")
            env.Exit(1)
        offset = section["sh_offset"]
        f.seek(offset)
        crc = 0xFFFFFFFF
        for byte in f.read(252):
            crc ^= byte << 24
            for _ in range(8):
                crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
        f.seek(offset + 252)
        f.write(crc.to_bytes(4, "little"))


if board.get("build.boot2_crc", False):
    env.AddPostAction(elf, env.VerboseAction(_boot2_crc, "Writing the boot2 CRC into $TARGET"))
binary = env.ElfToBin("$BUILD_DIR/${PROGNAME}", elf)
env.Depends(binary, elf)

# Upload: QEMU for emulated boards (the firmware exits through semihosting with its own code),
# otherwise the uploader named by the board manifest; tinyc's `flash` command drives both.
protocol = env.subst("$UPLOAD_PROTOCOL") or board.get("upload.protocol", "")
if protocol == "qemu":
    qemu = [
        "qemu-system-arm", "-M", board.get("upload.qemu_machine"), "-nographic", "-monitor", "none",
        "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,align=off,sleep=off",
        "-serial", "stdio", "-kernel", "$SOURCE",
    ]
    upload = env.Alias("upload", elf, env.VerboseAction(" ".join(qemu), "Running $SOURCE in QEMU"))
else:
    # Substituted when the upload runs, not now: $SOURCE and $UPLOAD_PORT are only known then.
    cmd = "$UPLOADCMD" if env.get("UPLOADCMD") else ""
    if not cmd:
        cmd = "echo 'tinyc: no uploader configured for protocol %s' && exit 1" % shlex.quote(protocol)
    upload = env.Alias("upload", binary, env.VerboseAction(cmd, "Uploading $SOURCE"))
AlwaysBuild(upload)

Default([binary, env.Alias("checkprogsize", elf, env.VerboseAction(env.CheckUploadSize, None))])
