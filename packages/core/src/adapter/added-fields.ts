/** Fields freshkey added to a query's selection so its rows carry their keys, per level of the relations it loads. */
export interface AddedFields {
  readonly added: string[]
  readonly children: [relation: string, AddedFields][]
}

/** Takes the {@link AddedFields} out of a result (a row or a list of rows, in place) before the app sees it. */
export function removeAdded(result: unknown, plan: AddedFields): void {
  for (const row of Array.isArray(result) ? result : [result]) {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) continue
    for (const f of plan.added) delete row[f]
    for (const [field, child] of plan.children) removeAdded(row[field], child)
  }
}
