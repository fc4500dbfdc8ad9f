"""Operations that change data: each checks role, scope and state, and writes in one transaction."""
