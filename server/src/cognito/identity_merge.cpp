// Intentionally empty: mergeIdentities lives in auth/identity_merge.cpp (see the header).
#include "cognito/identity_merge.h"
