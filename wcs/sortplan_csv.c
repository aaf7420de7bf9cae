/* sortplan_csv.c - placeholder until implemented. */
