/* code.c - placeholder */
