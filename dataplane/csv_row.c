/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <string.h>

#include "csv_row.h"

char *
csv_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);

	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int
csv_row_split(char *line, char **fields, int max)
{
	char *s = csv_trim(line), *save = NULL;
	int n = 0;

	if (*s == 0 || *s == '#')
		return 0;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return max + 1;
		fields[n++] = csv_trim(t);
	}
	return n;
}
