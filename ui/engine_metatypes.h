#pragma once
// Engine API types carried by Qt signals and QVariant (declared once for the whole UI).

#include <QMetaType>

#include "lipar/engine.h"

Q_DECLARE_METATYPE(lipar::EditParams)
Q_DECLARE_METATYPE(lipar::EngineConfig)
Q_DECLARE_METATYPE(lipar::EngineOutput)
Q_DECLARE_METATYPE(lipar::EngineState)
Q_DECLARE_METATYPE(lipar::EngineStats)
Q_DECLARE_METATYPE(lipar::EditMode)
Q_DECLARE_METATYPE(lipar::SourceSpec)
