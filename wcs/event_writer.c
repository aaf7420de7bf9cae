/* event_writer.c - placeholder until implemented. */
