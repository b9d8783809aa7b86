/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csv_row - one line of the project's CSV files (merchants, cards): '#'
 * comments and blank lines skipped, fields split on ',' and trimmed, in
 * place. No quoting: none of our fields contain commas.
 */
#ifndef PAYGATE_CSV_ROW_H
#define PAYGATE_CSV_ROW_H

/* Trim surrounding whitespace in place; returns the new start. */
char *csv_trim(char *s);
/* Split line into at most max fields. Returns the number of fields, 0 for
 * a blank or comment line, or max + 1 if there were more than max. */
int csv_row_split(char *line, char **fields, int max);

#endif /* PAYGATE_CSV_ROW_H */
