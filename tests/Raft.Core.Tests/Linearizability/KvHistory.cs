using Raft.Testing.Linearizability;

namespace Raft.Core.Tests.Linearizability;

/// <summary>Shorthand for hand-written key-value histories: one line per operation, times as [call, return].</summary>
internal static class KvHistory
{
    public const long Never = long.MaxValue;

    public static Operation<KvInput, KvOutput> Put(int client, string key, string value, long call, long ret) =>
        new(client, KvInput.Put(key, value), call, KvOutput.Done(), ret);

    public static Operation<KvInput, KvOutput> Get(int client, string key, string? value, long call, long ret) =>
        new(client, KvInput.Get(key), call, KvOutput.Read(value), ret);

    public static Operation<KvInput, KvOutput> Delete(int client, string key, long call, long ret) =>
        new(client, KvInput.Delete(key), call, KvOutput.Done(), ret);

    public static Operation<KvInput, KvOutput> Cas(int client, string key, string? expected, string value, bool swapped, long call, long ret) =>
        new(client, KvInput.Cas(key, expected, value), call, KvOutput.CasResult(swapped), ret);

    /// <summary>An operation whose client never learned the outcome: it may take effect after <paramref name="call"/>, or never.</summary>
    public static Operation<KvInput, KvOutput> Pending(int client, KvInput input, long call) =>
        new(client, input, call, KvOutput.Indeterminate, Never);

    public static CheckResult Check(params Operation<KvInput, KvOutput>[] history) =>
        LinearizabilityChecker.Check(KvModel.Instance, history, TimeSpan.FromSeconds(10));
}
