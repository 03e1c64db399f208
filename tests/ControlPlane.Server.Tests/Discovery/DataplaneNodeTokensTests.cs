using ControlPlane.Api.Auth;
using ControlPlane.Server.Discovery.Auth;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>Per-node tokens: one node per token, keys that rotate, refusals that never show a key.</summary>
public sealed class DataplaneNodeTokensTests
{
    private const string OldKey = "old-node-key-3b8e1f6a0c9d2e7f4a1b5c8d0e3f6a9b";
    private const string NewKey = "new-node-key-7d2c9e4f1a6b3c8d5e0f2a7b4c9d1e6f";

    [Fact]
    public void ATokenNamesItsNode_AndOnlyTheKeysVerifyIt()
    {
        var keys = DataplaneNodeTokens.FromKeys(NewKey, "test");
        var token = keys.Issue("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local");

        Assert.StartsWith(DataplaneNodeTokens.Prefix, token, StringComparison.Ordinal);
        Assert.Equal(token, keys.Issue("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local")); // deterministic: reissuing gives the same token
        Assert.True(keys.TryVerify(token, out var nodeId));
        Assert.Equal("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local", nodeId);
        Assert.DoesNotContain(NewKey, token, StringComparison.Ordinal);
        Assert.False(DataplaneNodeTokens.FromKeys(OldKey, "test").TryVerify(token, out _));
        Assert.NotEqual(token, keys.Issue("sidecar~10.0.0.2~pod.ns~ns.svc.cluster.local"));
    }

    [Fact]
    public void KeysRotate_TheFirstIssues_EveryOneVerifies_ADroppedKeyRevokes()
    {
        var before = DataplaneNodeTokens.FromKeys(OldKey, "test");
        var during = DataplaneNodeTokens.FromKeys($"\n {NewKey} \r\n\n{OldKey}\n", "test");
        var after = DataplaneNodeTokens.FromKeys(NewKey, "test");
        var old = before.Issue("edge-1");
        var reissued = during.Issue("edge-1");

        Assert.Equal(2, during.KeyCount);
        Assert.Equal(after.Issue("edge-1"), reissued);
        Assert.True(during.TryVerify(old, out _));
        Assert.True(during.TryVerify(reissued, out _));
        Assert.False(after.TryVerify(old, out _));
        Assert.True(after.TryVerify(reissued, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("edge 1")]
    [InlineData("edge-1\n")]
    [InlineData("edge-é")]
    public void AnIdNoNodeCanHave_GetsNoToken(string nodeId)
    {
        var keys = DataplaneNodeTokens.FromKeys(NewKey, "test");
        Assert.Throws<ArgumentException>(() => keys.Issue(nodeId));
        Assert.Throws<ArgumentException>(() => keys.Issue(new string('n', DataplaneNodeTokens.MaxNodeIdLength + 1)));
        Assert.True(keys.TryVerify(keys.Issue(new string('n', DataplaneNodeTokens.MaxNodeIdLength)), out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("short-key")]
    public void ShortOrMissingKeys_AreRefused_WithoutShowingThem(string text)
    {
        var error = Assert.Throws<InvalidOperationException>(() => DataplaneNodeTokens.FromKeys(text, "DATAPLANE_NODE_KEY_FILE"));
        Assert.StartsWith("DATAPLANE_NODE_KEY_FILE", error.Message, StringComparison.Ordinal);
        if (text.Trim().Length > 0)
        {
            Assert.DoesNotContain(text.Trim(), error.Message, StringComparison.Ordinal);
            Assert.Contains("at least 32", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TheKeysAreReadFromTheFileFirst()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, NewKey + "\n" + OldKey + "\n");
            var variables = new Dictionary<string, string?> { [DataplaneNodeTokens.KeyFileVariable] = file, [DataplaneNodeTokens.KeyVariable] = "ignored-key-which-is-long-enough-000000000" };
            var token = DataplaneToken.FromEnvironment(null, v => variables.GetValueOrDefault(v));
            Assert.True(token.IsConfigured);
            Assert.True(token.AcceptsNodeTokens);
            Assert.True(token.Admits(DataplaneNodeTokens.FromKeys(OldKey, "test").Issue("edge-1"), out var nodeId));
            Assert.Equal("edge-1", nodeId);
            Assert.False(token.Admits(DataplaneNodeTokens.FromKeys("ignored-key-which-is-long-enough-000000000", "test").Issue("edge-1"), out _));

            var shared = DataplaneToken.FromEnvironment(null, v => v == DataplaneToken.VariableName ? "shared-token" : null);
            Assert.False(shared.AcceptsNodeTokens);
            Assert.True(shared.Admits("shared-token", out var unbound));
            Assert.Null(unbound);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
