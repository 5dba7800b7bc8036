namespace Orleans.Raft.StateMachine;

/// <summary>Identifies one grain state in the replicated store: the grain's type and key and the state's name.</summary>
/// <param name="GrainType">The grain type, as <c>GrainId.Type.ToString()</c> gives it.</param>
/// <param name="GrainKey">The grain key, as <c>GrainId.Key.ToString()</c> gives it.</param>
/// <param name="StateName">The state name given to the provider (the first argument of <c>[PersistentState]</c>).</param>
public readonly record struct GrainStateKey(string GrainType, string GrainKey, string StateName)
{
    /// <inheritdoc />
    public override string ToString() => $"{GrainType}/{GrainKey}#{StateName}";
}
