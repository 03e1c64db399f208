using ControlPlane.Server.Auth;

namespace ControlPlane.Server.Tests.Auth;

public sealed class PlatformTokenTests
{
    [Fact]
    public void FromEnvironment_ReadsTheVariable()
    {
        var token = PlatformToken.FromEnvironment(Env(("PLATFORM_TOKEN", "s3cret")));
        Assert.True(token.IsConfigured);
        Assert.Equal("PLATFORM_TOKEN", token.Source);
        Assert.True(token.Matches("s3cret"));
        Assert.False(token.Matches("s3cre"));
        Assert.False(token.Matches("s3cret "));
        Assert.False(token.Matches(""));
        Assert.False(token.Matches(null));
    }

    [Fact]
    public void FromEnvironment_PrefersTheFile_AndIgnoresItsTrailingNewline()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "from-file\n");
            var token = PlatformToken.FromEnvironment(Env(("PLATFORM_TOKEN", "from-env"), ("PLATFORM_TOKEN_FILE", path)));
            Assert.Equal("PLATFORM_TOKEN_FILE", token.Source);
            Assert.True(token.Matches("from-file"));
            Assert.False(token.Matches("from-env"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FromEnvironment_FailsClearly_OnAnUnreadableOrEmptyFile()
    {
        var missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"));
        var error = Assert.Throws<InvalidOperationException>(() => PlatformToken.FromEnvironment(Env(("PLATFORM_TOKEN_FILE", missing))));
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);

        var empty = Path.GetTempFileName();
        try
        {
            Assert.Throws<InvalidOperationException>(() => PlatformToken.FromEnvironment(Env(("PLATFORM_TOKEN_FILE", empty))));
        }
        finally
        {
            File.Delete(empty);
        }
    }

    [Fact]
    public void WithoutAToken_NothingMatches()
    {
        var token = PlatformToken.FromEnvironment(Env());
        Assert.False(token.IsConfigured);
        Assert.False(token.Matches(""));
        Assert.False(token.Matches("anything"));
    }

    [Fact]
    public void NamedTokens_FromTheirFile_EachIdentifiesItsHolder_BesideTheSharedOne()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "# operators and agents\nalice   alice-token-1\n\n  ci/deploy\tci-token-2  \r\n");
            var tokens = PlatformToken.FromEnvironment(Env(("PLATFORM_TOKEN", "shared-token"), ("PLATFORM_TOKENS_FILE", path)));
            Assert.Equal("PLATFORM_TOKEN+PLATFORM_TOKENS_FILE", tokens.Source);
            Assert.Equal(["admin", "alice", "ci/deploy"], tokens.Names);
            Assert.Equal("admin", tokens.Identify("shared-token"));
            Assert.Equal("alice", tokens.Identify("alice-token-1"));
            Assert.Equal("ci/deploy", tokens.Identify("ci-token-2"));
            Assert.Null(tokens.Identify("alice"));
            Assert.Null(tokens.Identify("alice-token-1 "));

            var namedOnly = PlatformToken.FromEnvironment(Env(("PLATFORM_TOKENS_FILE", path)));
            Assert.True(namedOnly.IsConfigured);
            Assert.Equal("PLATFORM_TOKENS_FILE", namedOnly.Source);
            Assert.False(namedOnly.Matches("shared-token"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("alice\n", "line 1: expected 'NAME TOKEN'")]
    [InlineData("alice tok en\n", "line 1: expected 'NAME TOKEN'")]
    [InlineData("-alice secret-a\n", "line 1: the name must be")]
    [InlineData("alice secret-a\nalice secret-b\n", "line 2: the name 'alice' is given twice")]
    [InlineData("admin secret-a\n", "line 1: the name 'admin' is the shared token's (PLATFORM_TOKEN)")]
    [InlineData("alice secret-a\nbob secret-a\n", "line 2: 'bob' has the same token as 'alice'")]
    [InlineData("bob shared-token\n", "line 1: 'bob' has the same token as 'admin'")]
    [InlineData("alice secret,a\n", "contains ','")]
    public void ABadNamedTokensFile_IsRefused_NamingTheLine_NeverAToken(string text, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => PlatformToken.FromValues("shared-token", "PLATFORM_TOKEN", text, "PLATFORM_TOKENS_FILE"));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("shared-token", error.Message, StringComparison.Ordinal);
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;
}
