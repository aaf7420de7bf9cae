/* db_parcels.c - placeholder until implemented. */
