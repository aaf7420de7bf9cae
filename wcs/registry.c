/* registry.c - placeholder until implemented. */
