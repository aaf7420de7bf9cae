/* db_plan.c - placeholder until implemented. */
