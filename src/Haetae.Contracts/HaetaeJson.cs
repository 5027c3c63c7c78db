using System.Text.Json;
using System.Text.Json.Serialization;

namespace Haetae.Contracts;

/// <summary>
/// The one JSON shape of Haetae, on the wire and in the store: camelCase names, enums by name (numbers
/// are still read, so records written before enums were named read back), nulls kept.
/// </summary>
public static class HaetaeJson
{
    public static JsonSerializerOptions Options { get; } = Frozen(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>For people to read (the CLI, reports): indented, Korean as itself, nulls left out.</summary>
    public static JsonSerializerOptions Readable { get; } = Frozen(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    });

    /// <summary>Applies Haetae's conventions to <paramref name="options"/> (for example ASP.NET Core's own).</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        if (!options.Converters.Any(c => c is JsonStringEnumConverter))
        {
            options.Converters.Add(new JsonStringEnumConverter());
        }

        return options;
    }

    private static JsonSerializerOptions Frozen(JsonSerializerOptions options)
    {
        Configure(options).MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
