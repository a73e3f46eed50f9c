# ovscan — turn a text file into a C array (used for signatures/ovscan-test.ndb).
#   cmake -DINPUT=file -DOUTPUT=file.c -DSYMBOL=name -P embed.cmake
# The array is NUL-terminated, so it can be used as a C string.
file (READ "${INPUT}" hex HEX)
string (REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string (REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n  " bytes "${bytes}")
file (WRITE "${OUTPUT}.tmp"
  "/* Generated from ${INPUT} by embed.cmake: do not edit. */\n"
  "extern const char ${SYMBOL}[];\n"
  "const char ${SYMBOL}[] = {\n  ${bytes}0x00\n};\n")
file (RENAME "${OUTPUT}.tmp" "${OUTPUT}")
