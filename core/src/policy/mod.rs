//! Role-based authorization: principals, roles, policies and their evaluation.
