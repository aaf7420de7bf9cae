/* parcel.c - placeholder until implemented. */
