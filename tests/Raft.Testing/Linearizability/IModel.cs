namespace Raft.Testing.Linearizability;

/// <summary>
/// The sequential specification of an object, against which a concurrent history is checked.
/// </summary>
/// <remarks>
/// Implementations must be pure: <see cref="Step"/> must not mutate the state it is given (the search
/// keeps earlier states for backtracking), and <see cref="Hash"/> must agree with <see cref="Equal"/>.
/// </remarks>
/// <typeparam name="TState">The state of the object; treated as an immutable value.</typeparam>
/// <typeparam name="TInput">The request of an operation.</typeparam>
/// <typeparam name="TOutput">The response of an operation.</typeparam>
public interface IModel<TState, TInput, TOutput>
{
    /// <summary>Returns the state before any operation.</summary>
    /// <returns>The initial state.</returns>
    TState Init();

    /// <summary>
    /// Splits a history into sub-histories that can be checked independently (for example one per key);
    /// a history that is linearizable iff every part is. Returns the history itself, as a single part,
    /// when it cannot be split.
    /// </summary>
    /// <param name="history">The whole history.</param>
    /// <returns>The independent parts.</returns>
    IEnumerable<IReadOnlyList<Operation<TInput, TOutput>>> Partition(IReadOnlyList<Operation<TInput, TOutput>> history);

    /// <summary>Decides whether <paramref name="input"/> may produce <paramref name="output"/> in <paramref name="state"/>.</summary>
    /// <param name="state">The state before the operation.</param>
    /// <param name="input">The request.</param>
    /// <param name="output">The observed response.</param>
    /// <returns>Whether the step is legal and, if it is, the state after it.</returns>
    (bool Ok, TState Next) Step(TState state, TInput input, TOutput output);

    /// <summary>Compares two states; used by the search's cache of visited configurations.</summary>
    /// <param name="a">A state.</param>
    /// <param name="b">Another state.</param>
    /// <returns>Whether the states are the same.</returns>
    bool Equal(TState a, TState b);

    /// <summary>Hashes a state consistently with <see cref="Equal"/>.</summary>
    /// <param name="state">The state.</param>
    /// <returns>The hash code.</returns>
    int Hash(TState state);

    /// <summary>Describes an operation for failure reports, e.g. <c>put("k", "v") -&gt; ok</c>.</summary>
    /// <param name="input">The request.</param>
    /// <param name="output">The response.</param>
    /// <returns>A short human-readable description.</returns>
    string Describe(TInput input, TOutput output);

    /// <summary>Describes a state for failure reports.</summary>
    /// <param name="state">The state.</param>
    /// <returns>A short human-readable description; <c>ToString()</c> unless overridden.</returns>
    string DescribeState(TState state) => state?.ToString() ?? "null";

    /// <summary>Names one part returned by <see cref="Partition"/> for failure reports (for example its key).</summary>
    /// <param name="partition">The part.</param>
    /// <returns>A short human-readable name; the operation count unless overridden.</returns>
    string DescribePartition(IReadOnlyList<Operation<TInput, TOutput>> partition) => $"{partition.Count} operations";
}
