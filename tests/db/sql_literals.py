#!/usr/bin/env python3
"""Print every complete SQL statement written as a C string literal.

Used by tests/db/test_migrate.sh to PREPARE the statements of the C sources
against the freshly migrated schema, so a renamed or misspelt table or column
is caught by `make check` instead of at run time.

Output: one statement per line, "FILE:LINE<TAB>SQL" (newlines in the SQL
become spaces). Adjacent literals are joined as the C compiler joins them;
a statement interrupted by a macro or built with printf-style '%' is
skipped, since it cannot be checked statically.
"""
import re
import sys

LIT = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
NEXT = re.compile(r'\s*"((?:[^"\\\n]|\\.)*)"')
START = re.compile(r'\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE)\b')
BODY = re.compile(r'\b(FROM|INTO|SET)\b')
ESC = {'n': ' ', 't': ' ', 'r': ' ', '\\': '\\', '"': '"', "'": "'", '0': ''}


def unescape(s):
    return re.sub(r'\\(.)', lambda m: ESC.get(m.group(1), m.group(1)), s)


def blank(m):
    # Keep line numbers: replace a comment by as many newlines as it had.
    return '\n' * m.group(0).count('\n')


def main(paths):
    for path in paths:
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                src = f.read()
        except OSError:
            continue
        src = re.sub(r'/\*.*?\*/', blank, src, flags=re.S)
        src = re.sub(r"'(?:[^'\\\n]|\\.)'", "' '", src)   # char constants like '"'
        src = re.sub(r'//[^\n]*', '', src)
        pos = 0
        while True:
            m = LIT.search(src, pos)
            if not m:
                break
            parts, end = [m.group(1)], m.end()
            while True:
                n = NEXT.match(src, end)
                if not n:
                    break
                parts.append(n.group(1))
                end = n.end()
            pos = end
            sql = ''.join(parts)
            if not START.match(sql) or not BODY.search(sql):
                continue
            if '%' in sql.replace('%%', ''):
                continue
            line = src.count('\n', 0, m.start()) + 1
            print('%s:%d\t%s' % (path, line, ' '.join(unescape(sql).split())))


if __name__ == '__main__':
    main(sys.argv[1:])
