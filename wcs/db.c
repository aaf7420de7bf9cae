/* db.c - placeholder until implemented. */
