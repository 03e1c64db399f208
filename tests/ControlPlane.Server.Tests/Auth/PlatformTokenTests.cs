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

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;
}
