// session.js - who is logged in, and what their role may do (docs/console.md
// "Roles": each role may do what the roles below it may).

const RANK = { viewer: 1, operator: 2, supervisor: 3, admin: 4 };

export const session = { user: '', role: '', language: 'en' };

export function setSession(s) {
  session.user = s.user || '';
  session.role = s.role || '';
  if (s.language) session.language = s.language;
}

// may('operator'): the user's role is operator or above.
export function may(role) {
  return (RANK[session.role] || 0) >= (RANK[role] || 99);
}
