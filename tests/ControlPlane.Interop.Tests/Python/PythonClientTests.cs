using ControlPlane.Interop.Tests.Infrastructure;

namespace ControlPlane.Interop.Tests.Python;

/// <summary>The python grpcio client (tests/interop/python/interop_client.py) runs each interop case against our server.</summary>
public sealed class PythonClientTests(OurServerFixture fixture) : IClassFixture<OurServerFixture>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("empty_unary")]
    [InlineData("large_unary")]
    [InlineData("server_streaming")]
    [InlineData("client_streaming")]
    [InlineData("ping_pong")]
    [InlineData("empty_stream")]
    [InlineData("cancel_after_begin")]
    [InlineData("cancel_after_first_response")]
    [InlineData("timeout_on_sleeping_server")]
    [InlineData("status_code_and_message")]
    [InlineData("special_status_message")]
    [InlineData("custom_metadata")]
    [InlineData("unimplemented_method")]
    [InlineData("unimplemented_service")]
    [InlineData("max_message_size")]
    [InlineData("client_compressed_unary")]
    [InlineData("server_compressed_unary")]
    [InlineData("large_server_stream")]
    public async Task PythonClient_PassesAgainstOurServer(string testCase)
    {
        await Prerequisites.RequirePythonGrpcAsync();
        var mark = fixture.LogMark();

        var result = await ExternalProcess.RunAsync(
            Prerequisites.Python,
            ["interop_client.py", "--port", fixture.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--case", testCase],
            ClientTimeout,
            Prerequisites.PythonHarnessDirectory);

        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(
            result.ExitCode == 0 && lines.SequenceEqual([$"PASS {testCase}"]),
            $"{result}{Environment.NewLine}--- server log ---{Environment.NewLine}{fixture.LogSince(mark)}");
        fixture.AssertNoErrorsSince(mark);
    }
}
