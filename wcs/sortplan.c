/* sortplan.c - placeholder until implemented. */
