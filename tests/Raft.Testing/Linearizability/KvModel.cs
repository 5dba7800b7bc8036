using System.Globalization;

namespace Raft.Testing.Linearizability;

/// <summary>The kind of a key-value operation.</summary>
public enum KvOp
{
    /// <summary>Reads a key.</summary>
    Get,

    /// <summary>Sets a key to <see cref="KvInput.Value"/>.</summary>
    Put,

    /// <summary>Removes a key.</summary>
    Delete,

    /// <summary>Sets a key to <see cref="KvInput.Value"/> if its value is <see cref="KvInput.Expected"/>.</summary>
    Cas,
}

/// <summary>A key-value request.</summary>
/// <param name="Op">The kind of operation.</param>
/// <param name="Key">The key it touches.</param>
/// <param name="Value">For <see cref="KvOp.Put"/> and <see cref="KvOp.Cas"/>, the value to store.</param>
/// <param name="Expected">For <see cref="KvOp.Cas"/>, the value the key must hold; <see langword="null"/> means absent.</param>
public sealed record KvInput(KvOp Op, string Key, string? Value = null, string? Expected = null)
{
    /// <summary>Creates a read of <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The request.</returns>
    public static KvInput Get(string key) => new(KvOp.Get, key);

    /// <summary>Creates a write of <paramref name="value"/> to <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <returns>The request.</returns>
    public static KvInput Put(string key, string value) => new(KvOp.Put, key, value);

    /// <summary>Creates a removal of <paramref name="key"/>.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The request.</returns>
    public static KvInput Delete(string key) => new(KvOp.Delete, key);

    /// <summary>Creates a compare-and-set of <paramref name="key"/> from <paramref name="expected"/> to <paramref name="value"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="expected">The value the key must hold; <see langword="null"/> means absent.</param>
    /// <param name="value">The value to store.</param>
    /// <returns>The request.</returns>
    public static KvInput Cas(string key, string? expected, string value) => new(KvOp.Cas, key, value, expected);
}

/// <summary>A key-value response.</summary>
/// <param name="Value">For <see cref="KvOp.Get"/>, the value read; <see langword="null"/> means absent.</param>
/// <param name="Ok">For <see cref="KvOp.Cas"/>, whether it swapped.</param>
/// <param name="Unknown">Whether the outcome is unknown: the operation may or may not have taken effect.</param>
public sealed record KvOutput(string? Value, bool Ok, bool Unknown)
{
    /// <summary>Gets the output of an operation whose outcome is unknown (timed out, or its node crashed).</summary>
    public static KvOutput Indeterminate { get; } = new(null, false, true);

    /// <summary>Creates the output of a read that returned <paramref name="value"/>.</summary>
    /// <param name="value">The value read; <see langword="null"/> means absent.</param>
    /// <returns>The response.</returns>
    public static KvOutput Read(string? value) => new(value, true, false);

    /// <summary>Creates the output of a completed <see cref="KvOp.Put"/> or <see cref="KvOp.Delete"/>.</summary>
    /// <returns>The response.</returns>
    public static KvOutput Done() => new(null, true, false);

    /// <summary>Creates the output of a completed <see cref="KvOp.Cas"/>.</summary>
    /// <param name="ok">Whether it swapped.</param>
    /// <returns>The response.</returns>
    public static KvOutput CasResult(bool ok) => new(null, ok, false);
}

/// <summary>
/// A map of string keys to string values, checked one key at a time: the state is the value of one key
/// (<see langword="null"/> when absent).
/// </summary>
/// <remarks>
/// An operation with an <see cref="KvOutput.Unknown"/> outcome is legal in every state: a write placed in the
/// linearization takes effect there (a compare-and-set only if its expectation holds there), a read changes
/// nothing. Leaving the operation out altogether is handled by the checker. Put and delete outputs carry no
/// information beyond completion and are not inspected.
/// </remarks>
public sealed class KvModel : IModel<string?, KvInput, KvOutput>
{
    /// <summary>Gets the shared instance; the model is stateless.</summary>
    public static KvModel Instance { get; } = new();

    /// <inheritdoc />
    public string? Init() => null;

    /// <inheritdoc />
    public IEnumerable<IReadOnlyList<Operation<KvInput, KvOutput>>> Partition(IReadOnlyList<Operation<KvInput, KvOutput>> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        return history
            .GroupBy(op => op.Input.Key, StringComparer.Ordinal)
            .Select(group => (IReadOnlyList<Operation<KvInput, KvOutput>>)group.ToList());
    }

    /// <inheritdoc />
    public (bool Ok, string? Next) Step(string? state, KvInput input, KvOutput output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        return input.Op switch
        {
            KvOp.Get => (output.Unknown || Same(output.Value, state), state),
            KvOp.Put => (true, input.Value),
            KvOp.Delete => (true, null),
            KvOp.Cas when output.Unknown => (true, Same(state, input.Expected) ? input.Value : state),
            KvOp.Cas when output.Ok => (Same(state, input.Expected), input.Value),
            KvOp.Cas => (!Same(state, input.Expected), state),
            _ => throw new ArgumentOutOfRangeException(nameof(input), input.Op, "Unknown key-value operation."),
        };
    }

    /// <inheritdoc />
    public bool Equal(string? a, string? b) => Same(a, b);

    /// <inheritdoc />
    public int Hash(string? state) => state is null ? 0 : StringComparer.Ordinal.GetHashCode(state);

    /// <inheritdoc />
    public string Describe(KvInput input, KvOutput output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        var request = input.Op switch
        {
            KvOp.Get => $"get({Quote(input.Key)})",
            KvOp.Put => $"put({Quote(input.Key)}, {Quote(input.Value)})",
            KvOp.Delete => $"delete({Quote(input.Key)})",
            KvOp.Cas => $"cas({Quote(input.Key)}, {Quote(input.Expected)} -> {Quote(input.Value)})",
            _ => input.Op.ToString(),
        };
        var response = output.Unknown ? "unknown"
            : input.Op switch
            {
                KvOp.Get => Quote(output.Value),
                KvOp.Cas => output.Ok ? "swapped" : "not swapped",
                _ => "ok",
            };
        return $"{request} -> {response}";
    }

    /// <inheritdoc />
    public string DescribeState(string? state) => Quote(state);

    /// <inheritdoc />
    public string DescribePartition(IReadOnlyList<Operation<KvInput, KvOutput>> partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        var key = partition.Count == 0 ? "?" : Quote(partition[0].Input.Key);
        return string.Create(CultureInfo.InvariantCulture, $"key {key}, {partition.Count} operations");
    }

    private static bool Same(string? a, string? b) => string.Equals(a, b, StringComparison.Ordinal);

    private static string Quote(string? value) => value is null ? "absent" : $"\"{value}\"";
}
