// What the supervisor tells a child through its environment: kept apart from Child.ts so that a
// supervised child (SupervisedChild) does not load the supervisor's side to read them.

export const lifelineFd = 3

export const lifelineVariable = "SUPERVISOR_LIFELINE_FD"

export const budgetVariable = "SUPERVISOR_BUDGET_MS"
