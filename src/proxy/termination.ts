// How a connection ended, as the access log reports it: who closed first and why, mapped
// to a two-letter HAProxy-style termination state and an NGINX-style status. Pure.
//
// HAProxy (doc/configuration.txt, "Session state at disconnection"): the first letter
// says what ended the session (C client, S server, P proxy limit, D server marked down,
// K killed by the administrator, c/s client/server-side timeout, "-" normally), the
// second at which phase (C waiting for the connection to the server, D data, "-" normal
// end). NGINX stream's $status: 200 relayed, 502 no member could be connected, 503 no
// member available or a limit.

/** Who closed the connection first. */
export type ClosedBy = 'client' | 'member' | 'corral'

/** Why: a FIN or reset from `closedBy`, or one of corral's own reasons. */
export type CloseCause =
  | 'fin'
  | 'rst'
  | 'idle_timeout'
  | 'connect_timeout'
  | 'connect_error'
  | 'no_member'
  | 'member_down'
  | 'drain_deadline'
  | 'shutdown'
  | 'limit'

/** Causes corral itself closes a connection for (Relay.destroy). */
export type CorralCloseCause =
  'idle_timeout' | 'member_down' | 'drain_deadline' | 'shutdown'

/** The events of one connection the mapping needs. */
export interface CloseFacts {
  /** Null when the relay thread could not tell (native "done" and "error"). */
  readonly closedBy: ClosedBy | null
  readonly cause: CloseCause
  /** Whether a member leg was ever established. */
  readonly established: boolean
}

/** Two-letter state and status of one connection. */
export interface Termination {
  readonly state: string
  readonly status: 200 | 502 | 503
}

/** The termination state and status of a connection that ended as `facts` say. */
export function terminationOf(facts: CloseFacts): Termination {
  const phase = facts.established ? 'D' : 'C'
  switch (facts.cause) {
    case 'fin':
      if (facts.established) return { state: '--', status: 200 }
      return facts.closedBy === 'member'
        ? { state: 'SC', status: 502 }
        : { state: 'CC', status: 200 }
    case 'rst':
      if (facts.closedBy === 'member')
        return { state: `S${phase}`, status: facts.established ? 200 : 502 }
      // An unknown closer keeps HAProxy's "-" for the side.
      if (facts.closedBy === null) return { state: `-${phase}`, status: 200 }
      return { state: `C${phase}`, status: 200 }
    case 'idle_timeout':
      return { state: `c${phase}`, status: 200 }
    case 'connect_timeout':
      return { state: 'sC', status: 502 }
    case 'connect_error':
      return { state: 'SC', status: 502 }
    case 'no_member':
      return { state: 'SC', status: 503 }
    case 'limit':
      return { state: 'PC', status: 503 }
    case 'member_down':
      return { state: `D${phase}`, status: facts.established ? 200 : 502 }
    case 'drain_deadline':
    case 'shutdown':
      return { state: `K${phase}`, status: facts.established ? 200 : 503 }
    default: {
      const unknown: never = facts.cause
      throw new Error(`unknown close cause ${String(unknown)}`)
    }
  }
}

/** Whether a termination is an error (always logged, never sampled away). */
export function isError(t: Termination): boolean {
  return t.state !== '--'
}
