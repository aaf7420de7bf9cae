/* import.c - placeholder until implemented. */
